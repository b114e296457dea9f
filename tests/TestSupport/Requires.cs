namespace Lcluster.TestSupport;

/// <summary>
/// Preconditions of tests that need the real machine. A missing precondition
/// fails the test with the reason; it never skips it silently.
/// </summary>
public static class Requires
{
    public static void Root()
    {
        if (!Environment.IsPrivilegedProcess)
            throw new InvalidOperationException("this test builds real containers and must run as root (sudo make test)");
    }

    public static string Program(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
                return path;
        }
        foreach (var dir in new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" })
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
                return path;
        }
        throw new InvalidOperationException($"this test needs `{name}`, which is not installed: run `make deps`");
    }
}
