using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: the native heap.</summary>
internal static partial class Libc
{
    /// <summary>malloc_trim(3): gives the free pages of every malloc arena back to the kernel; 1 when it released any.</summary>
    [LibraryImport(Lib, EntryPoint = "malloc_trim")]
    public static partial int MallocTrim(nuint pad);

    public const int MADV_DONTNEED = 4;

    /// <summary>madvise(2); a hint: its failure changes nothing but memory.</summary>
    [LibraryImport(Lib, EntryPoint = "madvise")]
    public static partial int Madvise(nuint address, nuint length, int advice);
}
