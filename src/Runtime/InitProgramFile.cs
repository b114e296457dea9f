using Lcluster.Runtime.Native;

namespace Lcluster.Runtime;

/// <summary>An init program written out from an image its host carries (the daemon's lclusterd-init), for <see cref="SandboxOptions.InitProgram"/>.</summary>
public static class InitProgramFile
{
    /// <summary>
    /// Writes <paramref name="image"/> to <paramref name="path"/>, mode 0755, replacing whatever was there whole (a
    /// file beside it, renamed over it); returns whether the file can be executed there (not on a filesystem mounted
    /// noexec). IOException or UnauthorizedAccessException when it cannot be written.
    /// </summary>
    public static bool Write(Stream image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        var written = path + ".new";
        try
        {
            File.Delete(written);
            using (var file = new FileStream(written, FileMode.CreateNew, FileAccess.Write))
                image.CopyTo(file);
            File.SetUnixFileMode(written, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                          | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(written, path, overwrite: true);
        }
        finally
        {
            LetGo(image);
        }
        return Libc.Access(path, Libc.X_OK) == 0;
    }

    /// <summary>
    /// A NativeAOT program's resource lies in its read-only data, mapped from its file: once copied, its pages are
    /// dropped from the process's memory (they stay in the page cache) rather than counted in its resident set for good.
    /// </summary>
    private static unsafe void LetGo(Stream image)
    {
        // Only NativeAOT's resources are pages of the file (a JIT build's may be anonymous memory, which this would zero).
        if (image is not UnmanagedMemoryStream mapped || System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
            return;
        var page = (nuint)Environment.SystemPageSize;
        var first = (nuint)mapped.PositionPointer - (nuint)mapped.Position;
        var start = (first + page - 1) & ~(page - 1);
        var end = (first + (nuint)mapped.Length) & ~(page - 1);
        if (end > start)
            _ = Libc.Madvise(start, end - start, Libc.MADV_DONTNEED);
    }
}
