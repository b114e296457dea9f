namespace Lcluster.TestSupport;

/// <summary>
/// lclusterc run as the host's `nobody` (uid and gid 65534, no other groups) through setpriv: a user
/// who is not root on a node's socket (the daemon must give the socket to its group, --socket-group=nogroup).
/// </summary>
public static class OtherUser
{
    public const int Id = 65534;
    public const string Name = "nobody";
    public const string Group = "nogroup";

    public static Task<CliResult> RunAsync(string server, params string[] args) =>
        Cli.RunProgramAsync("/usr/bin/setpriv", [$"--reuid={Id}", $"--regid={Id}", "--clear-groups", RepoPaths.Bin("lclusterc"), .. args, $"--server={server}"]);

    /// <summary>A new directory <see cref="Name"/> may write in (a download's destination); the caller deletes it.</summary>
    public static string WritableDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("lcluster-nobody-").FullName;
        File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        return directory;
    }
}
