namespace Lcluster.Bench;

/// <summary>
/// Where the throwaway Slurm of the bench keeps everything: one directory under
/// the bench's scratch directory, so removing it removes every trace.
/// </summary>
internal sealed record SlurmLayout(string Root)
{
    public string Config => Path.Combine(Root, "slurm.conf");

    /// <summary>0700: munged refuses a key that anyone but its owner can read.</summary>
    public string KeyDir => Path.Combine(Root, "munge");

    public string MungeKey => Path.Combine(KeyDir, "munge.key");
    public string MungeSeed => Path.Combine(KeyDir, "munged.seed");
    public string RunDir => Path.Combine(Root, "run");
    public string MungeSocket => Path.Combine(RunDir, "munge.socket");
    public string StateDir => Path.Combine(Root, "state");
    public string SpoolDir => Path.Combine(Root, "spool");
    public string LogDir => Path.Combine(Root, "log");

    /// <summary>The jobs' working directory: their slurm-JOBID.out files land here, as in a user's.</summary>
    public string WorkDir => Path.Combine(Root, "work");

    /// <summary>jobcomp/filetxt: one line per finished job.</summary>
    public string JobCompLog => Path.Combine(LogDir, "jobcomp.txt");

    public string Log(string daemon) => Path.Combine(LogDir, $"{daemon}.log");

    public string PidFile(string daemon) => Path.Combine(RunDir, $"{daemon}.pid");

    public void Create()
    {
        Directory.CreateDirectory(Root);
        foreach (var dir in new[] { RunDir, StateDir, SpoolDir, LogDir, WorkDir })
            Directory.CreateDirectory(dir);
        Directory.CreateDirectory(KeyDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllBytes(MungeKey, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024));
        File.SetUnixFileMode(MungeKey, UnixFileMode.UserRead);
    }

    /// <summary>The last lines of a daemon's log, for an error message that says why it did not start.</summary>
    public string LogTail(string daemon, int lines = 5)
    {
        var path = Log(daemon);
        if (!File.Exists(path))
            return $"{path} is empty";
        var tail = File.ReadLines(path).Where(l => !IsNoise(l)).TakeLast(lines);
        return $"{path}: {string.Join(" | ", tail)}";
    }

    /// <summary>Debian's Slurm tries to load its PMIx MPI plugin at start and logs that it cannot; that is not why anything failed.</summary>
    private static bool IsNoise(string line) =>
        line.Contains("pmix", StringComparison.OrdinalIgnoreCase) || line.Contains("MPI:", StringComparison.Ordinal) ||
        line.Contains("state file", StringComparison.Ordinal) || line.Contains("backup state save", StringComparison.Ordinal);
}
