using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Security;

/// <summary>The job's kernel keyrings.</summary>
internal static class Keyring
{
    /// <summary>
    /// A new anonymous session keyring (keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)):
    /// the job never possesses the daemon's session keyring or its keys. Anonymous,
    /// not named: joining by name could join an existing keyring of that name.
    /// </summary>
    public static int JoinNewSession() =>
        Errno.Check(Libc.Keyctl(Libc.KEYCTL_JOIN_SESSION_KEYRING, 0, 0), "keyctl", "join a new session keyring");

    /// <summary>Binds the keyctl stub before pivot_root (an unknown operation fails at once and changes nothing).</summary>
    public static void Warm() => _ = Libc.Keyctl(-1, 0, 0);
}
