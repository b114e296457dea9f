namespace Lcluster.Runtime;

/// <summary>A started container: its PID 1, its end, and the kill switch.</summary>
public sealed class Container
{
    private readonly ContainerRun _run;

    internal Container(ContainerRun run, Task<ContainerResult> completion)
    {
        _run = run;
        JobId = run.JobId;
        Pid = run.Pid;
        Completion = completion;
    }

    public string JobId { get; }

    /// <summary>Host pid of the container's PID 1 (the job's shell once it runs).</summary>
    public int Pid { get; }

    /// <summary>Completes once the job ended and everything of it is gone (cgroups, mounts, layer, processes).</summary>
    public Task<ContainerResult> Completion { get; }

    /// <summary>Output bytes the job wrote so far (kept or not), for following a running job.</summary>
    public long StdoutBytes => _run.Stdout.Bytes;

    public long StderrBytes => _run.Stderr.Bytes;

    /// <summary>SIGKILLs every process of the container now; completes with <see cref="Completion"/>.</summary>
    public async Task KillAsync()
    {
        if (!Completion.IsCompleted)
            _run.Kill();
        await Completion.ConfigureAwait(false);
    }
}
