using System.Text;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// Inits started ahead of jobs: each waits, ready, in fresh namespaces for its
/// job on the control pipe, so a job's start skips the runtime's start-up.
/// Taking one starts a replacement. Disposing closes the waiting inits' control
/// pipes: they read EOF and exit (as they do when the daemon dies).
/// </summary>
internal sealed class InitPool(InitLaunch launch, int size) : IAsyncDisposable
{
    private const int Attempts = 3;
    private readonly Lock _gate = new();
    private readonly Queue<Task<InitProcess>> _waiting = new();
    private readonly CancellationTokenSource _disposing = new();
    private bool _disposed;

    /// <summary>Fills the pool; called once the owner is fully constructed.</summary>
    public void Start()
    {
        lock (_gate)
            RefillLocked();
    }

    /// <summary>A ready init, from the pool or started now; throws SandboxException when none could start.</summary>
    public async Task<InitProcess> TakeAsync(CancellationToken ct)
    {
        var failures = new List<string>();
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            Task<InitProcess> next;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                next = _waiting.Count > 0 ? _waiting.Dequeue() : StartOne();
                RefillLocked(); // at once: refilling after the job started lets back-to-back jobs drain the pool
            }
            try
            {
                var init = await next.WaitAsync(ct).ConfigureAwait(false);
                if (await WakeAsync(init, failures).ConfigureAwait(false))
                    return init;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Nobody will take this init now: close it once it is ready, so it exits.
                _ = next.ContinueWith(t => t.Result.DisposeAsync().AsTask(), CancellationToken.None,
                    TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
                throw;
            }
            catch (Exception e) when (e is IOException or NativeCallException or OperationCanceledException)
            {
                failures.Add(e.Message);
            }
        }
        throw new SandboxException($"could not start a container init ({launch.Program}): {string.Join("; ", failures.Distinct())}");
    }

    /// <summary>Completes when every init now starting is ready (or failed): a quiescent pool, for benchmarks.</summary>
    internal async Task WaitUntilFullAsync()
    {
        Task<InitProcess>[] starting;
        lock (_gate)
            starting = [.. _waiting];
        await Task.WhenAll(starting.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
    }

    /// <summary>Back to normal priority: its main thread builds the container and becomes the job. False (and closed) when it cannot.</summary>
    private static async Task<bool> WakeAsync(InitProcess init, List<string> failures)
    {
        try
        {
            if (init.SetNice(0))
                return true;
            failures.Add($"init pid {init.Pid} died while it waited");
        }
        catch (IOException e)
        {
            failures.Add(e.Message);
        }
        await init.DisposeAsync().ConfigureAwait(false);
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        Task<InitProcess>[] left;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            left = [.. _waiting];
            _waiting.Clear();
        }
        await _disposing.CancelAsync().ConfigureAwait(false);
        foreach (var entry in left)
        {
            InitProcess init;
            try
            {
                init = await entry.ConfigureAwait(false);
            }
            catch (Exception)
            {
                continue; // it never became ready; StartOne already reaped or abandoned it
            }
            await init.DisposeAsync().ConfigureAwait(false);
            await init.Exit.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        _disposing.Dispose();
    }

    private void RefillLocked()
    {
        while (!_disposed && _waiting.Count < size)
            _waiting.Enqueue(StartOne());
    }

    private Task<InitProcess> StartOne() => Task.Run(() => SpawnReadyAsync(_disposing.Token));

    private async Task<InitProcess> SpawnReadyAsync(CancellationToken ct)
    {
        var seccomp = launch.Seccomp?.Value; // compiled for the first init only
        var init = await InitSpawner.SpawnAsync(launch).ConfigureAwait(false);
        string? failure;
        try
        {
            // Starting an init is background work: it must not take the CPU from a container being started.
            init.SetNice(InitProcess.BackgroundNice);
            // An init that could not take the program has ended or is ending: waiting for it says why.
            if (seccomp is not null)
                _ = await init.TrySendSeccompAsync(seccomp, ct).ConfigureAwait(false);
            failure = await init.WaitReadyAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            // The pool closed while it started: EOF on its control pipe ends it once it reaches its read.
            await init.DisposeAsync().ConfigureAwait(false);
            await init.Exit.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        if (failure is null)
            return init;
        // It ended before it was ready: say why, from its report, its stderr and its exit status.
        var stderr = await ReadSomeAsync(init.Stderr).ConfigureAwait(false);
        var status = await init.Exit.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        await init.DisposeAsync().ConfigureAwait(false);
        var why = new StringBuilder($"init pid {init.Pid} ended before it was ready ({status})");
        if (failure.Length > 0)
            why.Append(": ").Append(failure);
        if (stderr.Length > 0)
            why.Append("; its stderr: ").Append(stderr.Trim());
        if (init.Ids is { } ids && status.Code == UserNamespaceSpawnRequest.ExecFailedExitCode && failure.Length == 0)
            why.Append($"; it could not be executed as the container's root (host uid {ids.First}): the program, its runtime files and every directory above them must be readable and executable by others");
        throw new IOException(why.ToString());
    }

    private static async Task<string> ReadSomeAsync(Stream stream)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            var n = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (OperationCanceledException)
        {
            return ""; // nothing was written
        }
    }
}
