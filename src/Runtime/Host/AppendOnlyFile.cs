using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>
/// A file only ever appended to, through an O_APPEND descriptor: each <see cref="Append"/> is one write(2), which
/// the kernel puts whole at the end of the file whatever other writers do. Created 0600 (root's only); never
/// fsynced. The daemon's container log is one.
/// </summary>
public sealed unsafe class AppendOnlyFile : IDisposable
{
    private const int Mode0600 = 0b110_000_000;
    private int _fd;

    private AppendOnlyFile(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Opens (creating it 0600) <paramref name="path"/> for appending; an existing file is made 0600 too.</summary>
    public static AppendOnlyFile Open(string path)
    {
        var fd = Libc.Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_APPEND | Libc.O_CLOEXEC, Mode0600);
        if (fd < 0)
            throw new IOException($"cannot open {path} for appending: {Errno.Name(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new AppendOnlyFile(fd, path);
    }

    /// <summary>Appends <paramref name="bytes"/> in one write; IOException when the kernel took less or refused.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        nint written;
        fixed (byte* p = bytes)
            written = Libc.Write(_fd, p, bytes.Length);
        if (written != bytes.Length)
            throw new IOException($"appending to {Path} failed: " +
                (written < 0 ? Errno.Name(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()) : $"{written} of {bytes.Length} bytes written"));
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
            Libc.Close(fd);
    }
}
