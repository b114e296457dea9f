using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Mounts;

/// <summary>The container's root: private propagation, the overlay, pivot_root.</summary>
internal static class RootFilesystem
{
    /// <summary>Stops every mount made from here on from propagating back to the host.</summary>
    public static void MakePrivate() =>
        Errno.Check(Libc.Mount(null, "/", null, Libc.MS_REC | Libc.MS_PRIVATE, null), "make mounts private", "/");

    /// <summary>
    /// The rootfs read-only below a per-job writable layer; nodev so no job-made device node opens.
    /// "volatile" (Linux 5.10+) because the layer is thrown away: its unmount, in the job's exit, skips syncing the disk.
    /// In a user namespace overlayfs may not write its trusted.* attributes: "userxattr" keeps them as user.overlay.*.
    /// </summary>
    public static void MountOverlay(string lower, string upper, string work, string target, long? capBytes, bool inUserNamespace)
    {
        if (capBytes is { } cap)
            (upper, work) = CappedLayer(upper, cap);
        // string.Concat, not interpolation: the handler pulls ArrayPool and cgroup probing into the init.
        var options = string.Concat("lowerdir=", lower, ",upperdir=", upper, ",workdir=" + work, inUserNamespace ? ",userxattr" : "");
        if (Libc.Mount("overlay", target, "overlay", Libc.MS_NODEV, options + ",volatile") == 0)
            return;
        if (Errno.Last != Errno.EINVAL)
            throw Errno.Fail("mount overlay", target + " (" + options + ",volatile)");
        Errno.Check(Libc.Mount("overlay", target, "overlay", Libc.MS_NODEV, options), "mount overlay", target + " (" + options + ")");
    }

    /// <summary>
    /// The writable layer on a tmpfs of <paramref name="cap"/> bytes mounted over <paramref name="layer"/>: past it the
    /// job's writes fail with ENOSPC and the host's disk never sees them. Overlay needs upper and work on one filesystem.
    /// </summary>
    private static (string Upper, string Work) CappedLayer(string layer, long cap)
    {
        Errno.Check(Libc.Mount("tmpfs", layer, "tmpfs", Libc.MS_NODEV | Libc.MS_NOSUID,
            string.Concat("mode=755,size=", cap.ToString(System.Globalization.CultureInfo.InvariantCulture))), "mount capped layer tmpfs", layer);
        var (upper, work) = (layer + "/upper", layer + "/work");
        EnsureDirectory(upper);
        EnsureDirectory(work);
        return (upper, work);
    }

    /// <summary>Makes <paramref name="root"/> the root and detaches the host's old root.</summary>
    public static void Pivot(string root)
    {
        Errno.Check(Libc.Chdir(root), "chdir", root);
        // pivot_root(".", ".") stacks the old root under the new one; unmounting "." then drops it.
        Errno.Check(Libc.PivotRoot(".", "."), "pivot_root", root);
        Errno.Check(Libc.Umount2(".", Libc.MNT_DETACH), "detach old root", root);
        Errno.Check(Libc.Chdir("/"), "chdir", "/");
    }

    /// <summary>mkdir that accepts an existing directory.</summary>
    public static void EnsureDirectory(string path, uint mode = Libc.Mode0755)
    {
        if (Libc.Mkdir(path, mode) == -1 && Errno.Last != Errno.EEXIST)
            throw Errno.Fail("mkdir", path);
    }
}
