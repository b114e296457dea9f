using System.Globalization;
using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>Users and groups of the host, through NSS (so directory users count too), and file ownership.</summary>
public static unsafe class HostAccounts
{
    private const int EntryBufferBytes = 16 << 10;

    /// <summary>The user name of a uid; "uid:N" when the uid has no name.</summary>
    public static string UserName(uint uid)
    {
        var buffer = stackalloc byte[EntryBufferBytes];
        Passwd entry;
        Passwd* result;
        var error = Libc.GetPwUidR(uid, &entry, buffer, EntryBufferBytes, &result);
        return error == 0 && result != null && entry.Name != null
            ? Marshal.PtrToStringUTF8((nint)entry.Name) ?? Numeric(uid)
            : Numeric(uid);
    }

    /// <summary>The gid of a group name, or null when there is no such group.</summary>
    public static uint? GroupId(string name)
    {
        var buffer = stackalloc byte[EntryBufferBytes];
        Group entry;
        Group* result;
        var error = Libc.GetGrNamR(name, &entry, buffer, EntryBufferBytes, &result);
        return error == 0 && result != null ? entry.Gid : null;
    }

    /// <summary>chown(2): throws IOException naming the path.</summary>
    public static void Chown(string path, uint owner, uint group) => Errno.Check(Libc.Chown(path, owner, group), "chown", path);

    /// <summary>The owner of a path itself (a symlink's own, not its target's), and whether it is a real directory.</summary>
    public static (uint Owner, bool IsDirectory) OwnerOf(string path)
    {
        StatxBuffer buffer;
        Errno.Check(Libc.Statx(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, StatxBuffer.STATX_TYPE | StatxBuffer.STATX_UID, &buffer), "statx", path);
        return (buffer.Uid, (buffer.Mode & Libc.S_IFMT) == Libc.S_IFDIR);
    }

    private static string Numeric(uint uid) => "uid:" + uid.ToString(CultureInfo.InvariantCulture);
}
