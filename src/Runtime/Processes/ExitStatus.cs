namespace Lcluster.Runtime.Processes;

/// <summary>How a child ended, decoded from its wait status.</summary>
internal readonly record struct ExitStatus(int? Code, int? Signal)
{
    /// <summary>The status was reaped by someone else (SIGCHLD set to SIG_IGN in this process).</summary>
    public static ExitStatus Lost => new(null, null);

    public static ExitStatus FromWaitStatus(int status) =>
        (status & 0x7f) == 0 ? new((status >> 8) & 0xff, null) : new(null, status & 0x7f);

    public override string ToString() =>
        Code is { } code ? $"exit code {code}" : Signal is { } signal ? $"signal {signal}" : "unknown status (reaped elsewhere)";
}
