using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: joining namespaces.</summary>
internal static partial class Libc
{
    [LibraryImport(Lib, EntryPoint = "setns", SetLastError = true)]
    public static partial int Setns(int fd, int namespaceType);
}
