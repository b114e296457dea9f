using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>The process's malloc heap: what native code (OpenSSL, libseccomp, the runtime) allocated and freed.</summary>
public static class NativeHeap
{
    /// <summary>Returns the free pages malloc keeps for reuse (compiling the seccomp filter leaves about 1 MB of them).</summary>
    public static void Trim() => _ = Libc.MallocTrim(0);
}
