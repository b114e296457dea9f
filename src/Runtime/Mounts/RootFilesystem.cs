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
    public static void MountOverlay(string lower, string upper, string work, string target, bool inUserNamespace)
    {
        // string.Concat, not interpolation: the handler pulls ArrayPool and cgroup probing into the init.
        var options = string.Concat("lowerdir=", lower, ",upperdir=", upper, ",workdir=" + work, inUserNamespace ? ",userxattr" : "");
        if (Libc.Mount("overlay", target, "overlay", Libc.MS_NODEV, options + ",volatile") == 0)
            return;
        if (Errno.Last != Errno.EINVAL)
            throw Errno.Fail("mount overlay", target + " (" + options + ",volatile)");
        Errno.Check(Libc.Mount("overlay", target, "overlay", Libc.MS_NODEV, options), "mount overlay", target + " (" + options + ")");
    }

    /// <summary>
    /// The writable layer on a tmpfs of <paramref name="cap"/> bytes: past it the job's writes fail with ENOSPC and the
    /// host's disk never sees them. The tmpfs covers the job directory, the working directory, in this mount namespace
    /// only, and becomes the working directory; it holds the overlay's upper and work directories (overlayfs needs
    /// them on one filesystem) and the mount points, so the daemon made none of them on its disk.
    /// </summary>
    public static void CoverWithCappedLayer(long cap, bool inUserNamespace)
    {
        var fs = Errno.Check(Libc.FsOpen("tmpfs", Libc.FSOPEN_CLOEXEC), "fsopen", "capped layer tmpfs");
        int layer;
        try
        {
            var size = cap.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Errno.Check(Libc.FsConfig(fs, Libc.FSCONFIG_SET_STRING, "size", size, 0), "fsconfig size", size);
            Errno.Check(Libc.FsConfig(fs, Libc.FSCONFIG_SET_STRING, "mode", "0755", 0), "fsconfig mode", "0755");
            Errno.Check(Libc.FsConfig(fs, Libc.FSCONFIG_CMD_CREATE, null, null, 0), "fsconfig create", "capped layer tmpfs");
            layer = Errno.Check(Libc.FsMount(fs, Libc.FSMOUNT_CLOEXEC, Libc.MOUNT_ATTR_NODEV | Libc.MOUNT_ATTR_NOSUID), "fsmount", "capped layer tmpfs");
        }
        finally
        {
            Libc.Close(fs);
        }
        try
        {
            Errno.Check(Libc.MoveMount(layer, "."), "mount capped layer tmpfs over", "the job directory");
            Errno.Check(Libc.Fchdir(layer), "enter the capped layer", "tmpfs");
        }
        finally
        {
            Libc.Close(layer);
        }
        foreach (var name in inUserNamespace ? JobDirectory.LayerNamesInUserNamespace : JobDirectory.LayerNames)
            EnsureDirectory(name);
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
