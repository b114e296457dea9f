using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Cgroups;

/// <summary>How the host mounts cgroups.</summary>
internal enum CgroupMode
{
    /// <summary>Controllers on v1 hierarchies; no unified hierarchy.</summary>
    V1,
    /// <summary>Controllers on v1 hierarchies, plus a controller-less cgroup2 at &lt;root&gt;/unified (kill, events).</summary>
    Hybrid,
    /// <summary>One cgroup2 hierarchy with the controllers.</summary>
    V2,
}

internal static class CgroupModes
{
    private const long Cgroup2Magic = 0x63677270, TmpfsMagic = 0x01021994;

    /// <summary>statfs on the root (and on root/unified): cgroup2 means v2, tmpfs means v1 or hybrid.</summary>
    public static CgroupMode Detect(string root)
    {
        var magic = Libc.FilesystemMagic(root);
        if (magic == Cgroup2Magic)
            return CgroupMode.V2;
        if (magic != TmpfsMagic)
            throw new NotSupportedException($"{root} is neither cgroup2 nor the tmpfs of v1 hierarchies (statfs magic 0x{magic:x})");
        var unified = Path.Combine(root, "unified");
        return Directory.Exists(unified) && Libc.FilesystemMagic(unified) == Cgroup2Magic ? CgroupMode.Hybrid : CgroupMode.V1;
    }
}
