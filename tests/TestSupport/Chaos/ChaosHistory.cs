namespace Lcluster.TestSupport.Chaos;

/// <summary>What a client did or saw, at <see cref="At"/> (wall clock of the one machine every node shares).</summary>
public enum ClientOpKind
{
    /// <summary>An --addjob was sent (<see cref="ClientOp.Tag"/> names the submission).</summary>
    Submit,
    /// <summary>The submission was acknowledged with the job's id.</summary>
    Ack,
    /// <summary>The submission failed, or its answer was lost: the job may or may not exist.</summary>
    Unknown,
    /// <summary>A listing or check showed the job in <see cref="ClientOp.State"/>.</summary>
    Check,
    /// <summary>The last read, after the faults stopped and every job had time to finish; State null: the job was not found.</summary>
    Final,
}

/// <summary>One step of the client-side history.</summary>
public sealed record ClientOp(DateTimeOffset At, ClientOpKind Kind, int Client, string Tag)
{
    public string? JobId { get; init; }
    public string? State { get; init; }
    public int? ExitCode { get; init; }
    public string? Node { get; init; }
    public int Attempts { get; init; }
    public int Retries { get; init; }
    public string? Detail { get; init; }
}

/// <summary>A fault the nemesis injected or healed, on a node (by name) or an etcd member.</summary>
public sealed record NemesisOp(DateTimeOffset At, string Fault, string Target, string Phase)
{
    /// <summary>A daemon SIGKILLed: its containers die with it (they ask for SIGKILL at its death).</summary>
    public bool KillsContainersOf(string node) => Fault == "kill-daemon" && Phase == "start" && Target == node;
}

/// <summary>One line of a node's container log (see the daemon's ContainerLog).</summary>
public sealed record ContainerEvent(string Node, string Kind, DateTimeOffset Wall, double Mono, int Pid)
{
    public string? Job { get; init; }
    public int Attempt { get; init; }
    public string? Incarnation { get; init; }
    public int? ExitCode { get; init; }
    public int Signal { get; init; }
}

/// <summary>Everything the checker reads: the clients' history, the nemesis's, and every node's container log.</summary>
public sealed record ChaosHistory(IReadOnlyList<ClientOp> Client, IReadOnlyList<NemesisOp> Nemesis, IReadOnlyList<ContainerEvent> Containers)
{
    /// <summary>How long a job declared lost may still run on the node that lost contact (its fence timeout, and some slack).</summary>
    public TimeSpan LostJobGrace { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>A property the history breaks: which one, for which job, and the evidence.</summary>
public sealed record Violation(string Property, string? Job, string Evidence)
{
    public override string ToString() => $"{Property}{(Job is null ? "" : $" [{Job}]")}: {Evidence}";
}
