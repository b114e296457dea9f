using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Mounts;

/// <summary>
/// The rootfs as a container in a user namespace must see it: a detached copy of its mount (open_tree) idmapped with
/// the container's user namespace (mount_setattr, Linux 5.12), so host id N on disk is id N inside: host root's files
/// are the container root's, /bin/sh runs and /root is writable through the overlay, and nothing on disk changes.
/// The daemon makes it per job (only host root may idmap a filesystem the host mounted); the init attaches it in its
/// own mount namespace as the overlay's lower layer (overlayfs takes idmapped layers since Linux 5.19).
/// </summary>
internal static unsafe class IdmappedRootFs
{
    /// <summary>Daemon side: an fd of the idmapped detached mount of <paramref name="rootFs"/>; the caller closes it.</summary>
    public static int Create(string rootFs, int initPid)
    {
        var userNamespace = "/proc/" + initPid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/ns/user";
        var ns = Errno.Check(Libc.Open(userNamespace, Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open", userNamespace);
        try
        {
            var tree = Errno.Check(Libc.OpenTree(rootFs, Libc.OPEN_TREE_CLONE | Libc.OPEN_TREE_CLOEXEC), "open_tree", rootFs);
            // Read-only too: through the idmap the container's root owns host root's files, so a writable copy would let it write them.
            // Private: a clone of a shared mount stays a peer of the host's, and mount events would cross between them.
            var attributes = new MountAttributes { Set = Libc.MOUNT_ATTR_IDMAP | Libc.MOUNT_ATTR_RDONLY, Propagation = Libc.MS_PRIVATE, UserNamespaceFd = (ulong)ns };
            if (Libc.MountSetattr(tree, &attributes) == 0)
                return tree;
            var errno = Errno.Last;
            Libc.Close(tree);
            throw new NativeCallException("mount_setattr MOUNT_ATTR_IDMAP", errno == Errno.EINVAL
                ? rootFs + " (its filesystem cannot be idmapped: put the rootfs on ext4, xfs, btrfs or tmpfs, or turn user namespaces off)"
                : rootFs, errno);
        }
        finally
        {
            Libc.Close(ns);
        }
    }

    /// <summary>Init side: mounts the received tree at <paramref name="target"/> and closes its fd.</summary>
    public static void Attach(int tree, string target)
    {
        try
        {
            Errno.Check(Libc.MoveMount(tree, target), "attach the idmapped rootfs at", target);
        }
        finally
        {
            Libc.Close(tree);
        }
    }
}
