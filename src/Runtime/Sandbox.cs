using Microsoft.Win32.SafeHandles;
using System.Collections.Concurrent;
using Lcluster.Runtime.Cgroups;
using Lcluster.Runtime.Mounts;
using Lcluster.Runtime.Output;
using Lcluster.Runtime.Processes;

namespace Lcluster.Runtime;

/// <summary>
/// The one entry point of the runtime: starts jobs in hardened containers and
/// guarantees nothing of them is left behind. Everything it owns lives below
/// <see cref="SandboxOptions.WorkDirectory"/> and <see cref="SandboxOptions.CgroupParent"/>.
/// </summary>
public sealed class Sandbox : IAsyncDisposable
{
    private readonly string _workDirectory;
    private readonly ICgroupTree _cgroups;
    private readonly InitPool _pool;
    private readonly SafeFileHandle? _programFile;
    private readonly ConcurrentDictionary<string, Container> _running = new();
    private int _disposed;

    public Sandbox(SandboxOptions options)
        : this(options, null)
    {
    }

    internal Sandbox(SandboxOptions options, ICgroupTree? cgroups)
    {
        SandboxValidation.Check(options);
        _workDirectory = Path.GetFullPath(options.WorkDirectory).TrimEnd('/');
        Directory.CreateDirectory(_workDirectory);
        JobDirectory.CreateShared(_workDirectory);
        _cgroups = cgroups ?? CgroupTrees.ForHost(CgroupFs.Kernel, options.CgroupRoot, options.CgroupParent);
        var launch = InitLaunchFor(options);
        _programFile = launch.ProgramFile;
        _pool = new InitPool(launch, options.PrestartedInits);
        _pool.Start();
    }

    /// <summary>
    /// Starts a job and returns once its command runs. Bad input throws
    /// ArgumentException and a node-side failure SandboxException (nothing is
    /// left of the job in either case); a container that could not start (no
    /// /bin/sh, a failing mount, a limit too small for the init) returns a
    /// Container whose Completion already holds the StartFailure.
    /// </summary>
    public async Task<Container> StartAsync(SandboxSpec spec, CancellationToken ct)
    {
        SandboxValidation.Check(spec);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_running.ContainsKey(spec.JobId))
            throw new ArgumentException($"job {spec.JobId} is already running in this sandbox");
        var directory = JobDirectory.Create(_workDirectory, spec.JobId, spec.Stdin, layerOnDisk: spec.Limits.DiskBytes is not > 0);
        IJobCgroup? cgroup = null;
        InitProcess? init = null;
        try
        {
            cgroup = CreateCgroup(spec);
            init = await _pool.TakeAsync(ct).ConfigureAwait(false);
            cgroup.AddProcess(init.Pid);
            var run = new ContainerRun(spec.JobId, init, cgroup, directory,
                new OutputCapture(init.Stdout, spec.StdoutPath, spec.OutputCapBytes, "stdout"),
                new OutputCapture(init.Stderr, spec.StderrPath, spec.OutputCapBytes, "stderr"));
            init = null; // the run owns it now and cleans up after it, whatever happens
            return await LaunchAsync(run, spec, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var undone = await UndoAsync(directory, cgroup, init).ConfigureAwait(false);
            if (undone is null && e is OperationCanceledException or ArgumentException or SandboxException)
                throw;
            var message = e is SandboxException ? e.Message : $"could not start job {spec.JobId}: {e.Message}";
            throw new SandboxException(undone is null ? message : $"{message} (and cleaning up failed: {undone})", e);
        }
    }

    /// <summary>
    /// At daemon start: kills and removes what a crashed predecessor left below
    /// CgroupParent and WorkDirectory (job cgroups with their processes, job
    /// directories). Returns the job ids it found; never touches anything else.
    /// </summary>
    public async Task<IReadOnlyList<string>> ReapLeftoversAsync(CancellationToken ct)
    {
        var ids = _cgroups.ListJobs()
            .Concat(Directory.EnumerateDirectories(_workDirectory).Select(Path.GetFileName).OfType<string>())
            .Where(id => SandboxValidation.JobId().IsMatch(id) && !_running.ContainsKey(id))
            .Distinct().Order(StringComparer.Ordinal).ToArray();
        foreach (var id in ids)
            await KillLeftoverAsync(id, ct).ConfigureAwait(false);
        return ids;
    }

    /// <summary>Kills and removes one leftover job's processes, cgroups and directory; a no-op when there is none.</summary>
    public Task KillLeftoverAsync(string jobId, CancellationToken ct)
    {
        SandboxValidation.CheckJobId(jobId);
        if (_running.ContainsKey(jobId))
            throw new InvalidOperationException($"job {jobId} is running in this sandbox: kill it through its Container");
        return Leftovers.KillAsync(_cgroups.Open(jobId), _workDirectory + "/" + jobId, ct);
    }

    /// <summary>Kills every running container, waits until each is cleaned up, and stops the init pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await Task.WhenAll(_running.Values.Select(c => c.KillAsync())).ConfigureAwait(false);
        await _pool.DisposeAsync().ConfigureAwait(false);
        _programFile?.Dispose();
        _cgroups.RemoveParentIfEmpty();
    }

    /// <summary>Completes when the init pool is full and idle (benchmarks start each run from there).</summary>
    internal Task WaitForPrestartedInitsAsync() => _pool.WaitUntilFullAsync();

    private IJobCgroup CreateCgroup(SandboxSpec spec)
    {
        try
        {
            return _cgroups.Create(spec.JobId, spec.Limits);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new SandboxException($"cannot create the cgroups of job {spec.JobId}: {e.Message}", e);
        }
    }

    private async Task<Container> LaunchAsync(ContainerRun run, SandboxSpec spec, CancellationToken ct)
    {
        string? failure;
        try
        {
            await SendAsync(run, spec, ct).ConfigureAwait(false);
            failure = await run.Init.WaitExecAsync(ct).ConfigureAwait(false);
        }
        catch (Exception)
        {
            run.Kill(); // cancelled or the pipe broke: tear the half-built container down, then report
            await run.FailedStartAsync("start abandoned").ConfigureAwait(false);
            throw;
        }
        var completion = failure is null ? run.RunAsync(spec.Limits.WallTime) : run.FailedStartAsync(failure);
        var container = new Container(run, completion);
        if (failure is null)
        {
            _running[spec.JobId] = container;
            _ = completion.ContinueWith(_ => _running.TryRemove(spec.JobId, out var _), TaskScheduler.Default);
            if (Volatile.Read(ref _disposed) != 0)
                run.Kill(); // started while the sandbox was being disposed: it would outlive it
        }
        return container;
    }

    private static async Task SendAsync(ContainerRun run, SandboxSpec spec, CancellationToken ct)
    {
        var directory = run.Directory;
        var rootFs = Path.GetFullPath(spec.RootFs).TrimEnd('/');
        if (rootFs.Length == 0)
            rootFs = "/";
        var message = new InitMessage(spec.Hostname, rootFs, directory.Path, directory.StdinFile, spec.Command,
            spec.Limits.DiskBytes, JobEnvironment.For(spec));
        if (run.Init.Ids is not { } ids)
        {
            await run.Init.SendAsync(message with { WorkspaceSource = spec.Workspace?.InitSource }, null, ct).ConfigureAwait(false);
            return;
        }
        // In a user namespace the init gets the rootfs idmapped onto its ids, its job directory and its workspace as
        // fds (the daemon's /proc is not its to read); it enters the directory and takes the message's paths relative
        // to it. What the workspace holds becomes its root's.
        directory.GiveTo(ids);
        spec.Workspace?.GiveTo(ids);
        var jobDirectory = directory.OpenAsSeenBy(run.Init.Pid);
        var rootFsMount = -1;
        try
        {
            rootFsMount = IdmappedRootFs.Create(rootFs, run.Init.Pid);
            var relative = message with
            {
                LowerDir = JobDirectory.LowerName, JobDir = "", StdinPath = directory.StdinFile is null ? null : JobDirectory.StdinName,
            };
            int[] fds = spec.Workspace is { } workspace ? [rootFsMount, jobDirectory, workspace.MountFd] : [rootFsMount, jobDirectory];
            await run.Init.SendAsync(relative, fds, ct).ConfigureAwait(false);
        }
        finally
        {
            Native.Libc.Close(jobDirectory);
            if (rootFsMount != -1)
                Native.Libc.Close(rootFsMount);
        }
    }

    /// <summary>Removes what a failed start created; returns what could not be removed, or null.</summary>
    private static async Task<string?> UndoAsync(JobDirectory directory, IJobCgroup? cgroup, InitProcess? init)
    {
        try
        {
            if (init is not null)
            {
                ChildExits.SignalIfAlive(init.Pid, Native.Libc.SIGKILL);
                await init.Exit.ConfigureAwait(false);
                await init.DisposeAsync().ConfigureAwait(false);
            }
            if (cgroup is not null)
                await cgroup.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
            directory.Delete();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    private static InitLaunch InitLaunchFor(SandboxOptions options)
    {
        var environment = new List<string>(InitEnvironment.Knobs);
        foreach (var name in InitEnvironment.PassThrough)
            if (System.Environment.GetEnvironmentVariable(name) is { } value)
                environment.Add($"{name}={value}");
        var arguments = new List<string>(options.InitArguments);
        if (options.WithoutSeccompForTests)
            arguments.Add(ContainerInit.WithoutSeccompArgument);
        if (options.UserNamespaces is not null)
            arguments.Add(ContainerInit.UserNamespaceArgument);
        // Compiled when the first init starts; a failure (no libseccomp) is that init's, and the next one tries again.
        var seccomp = options.WithoutSeccompForTests
            ? null
            : new Lazy<byte[]>(Security.SeccompFilter.CompileDockerDefault, LazyThreadSafetyMode.PublicationOnly);
        if (options.UserNamespaces is not { } userNamespaces)
            return new InitLaunch(options.InitProgram, arguments, environment, Seccomp: seccomp);
        var program = Native.Libc.Open(options.InitProgram, Native.Libc.O_PATH | Native.Libc.O_CLOEXEC, 0);
        return new InitLaunch(options.InitProgram, arguments, environment, new Security.IdRanges(userNamespaces),
            new SafeFileHandle(Native.Errno.Check(program, "open", options.InitProgram), ownsHandle: true), seccomp);
    }
}
