using Lcluster.Daemon.Api;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Store;
using Lcluster.Runtime;

namespace Lcluster.Daemon.Node;

/// <summary>
/// Files in and out of the jobs of this node (docs/files.md): the inputs it took (<see cref="Inputs"/>),
/// each running job's /work — a directory DATA_DIR/work/ID bound in, or with a disk limit a tmpfs of
/// the inputs' size plus that limit — filled before the job starts, and its artifacts collected from
/// there when it ends.
/// </summary>
internal sealed class JobFiles
{
    private const long Page = 4096;
    private readonly string _workRoot;
    private readonly long _artifactCap;
    private readonly InputFetch _fetch;
    private readonly string _nodeName;
    private readonly Log _log;

    public JobFiles(string dataDir, string nodeName, long artifactCapBytes, JobStore store, NodeChannels channels, Log log)
    {
        _nodeName = nodeName;
        _log = log;
        _workRoot = Path.Combine(dataDir, "work");
        Directory.CreateDirectory(_workRoot);
        _artifactCap = artifactCapBytes;
        Inputs = new InputStore(dataDir);
        _fetch = new InputFetch(nodeName, Inputs, store, channels);
    }

    public InputStore Inputs { get; }

    /// <summary>Does the job have a /work (inputs to place, or artifacts to collect)?</summary>
    public static bool Wanted(JobSpec spec) => spec.Inputs is not null || spec.Artifacts.Count > 0;

    /// <summary>The job's /work with its inputs in place; JobFilesException (nothing left behind) says why not.</summary>
    public async Task<Workspace> PrepareAsync(string id, JobSpec spec, long diskBytes, CancellationToken ct)
    {
        Workspace workspace;
        try
        {
            if (diskBytes > 0)
            {
                workspace = Workspace.InMemory(Capacity(spec.Inputs, diskBytes));
            }
            else
            {
                var directory = Path.Combine(_workRoot, id);
                Workspace.DeleteLeftover(directory);
                workspace = Workspace.OnDisk(directory);
            }
        }
        catch (IOException e)
        {
            throw new JobFilesException($"cannot make its /work: {e.Message}", e);
        }
        var ready = false;
        try
        {
            if (spec.Inputs is { } set)
                await _fetch.PlaceAsync(id, set, workspace, ct);
            ready = true;
            return workspace;
        }
        finally
        {
            if (!ready)
                workspace.Dispose();
        }
    }

    /// <summary>The outcome of a job that ended, with what was collected from its /work into <paramref name="archivePath"/>.</summary>
    public async Task<JobOutcome> CollectAsync(JobOutcome outcome, JobSpec spec, Workspace workspace, string archivePath, CancellationToken ct)
    {
        if (spec.Artifacts.Count == 0)
            return outcome;
        try
        {
            var collected = await ArtifactCollection.CollectAsync(workspace, spec.Artifacts, archivePath, _artifactCap, ct);
            return outcome with { ArtifactFiles = collected.Files, ArtifactBytes = collected.Bytes, ArtifactNote = collected.Note };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever went wrong, the job ran and ended: its outcome stands, with what could not be collected said.
            File.Delete(archivePath + ".partial");
            return outcome with { ArtifactNote = $"could not be collected on node {_nodeName}: {e.Message}" };
        }
    }

    /// <summary>The job's /work is no longer needed: unmounted (a tmpfs is gone), its directory deleted; a failure is logged.</summary>
    public void Release(string id, Workspace workspace)
    {
        try
        {
            workspace.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warn($"job {id}: could not delete its /work ({e.Message}); the next start of this node does");
        }
    }

    /// <summary>At start, before any job runs: the /work directories and half-stored uploads a crash left; returns how many.</summary>
    public int ReapLeftovers()
    {
        var removed = Inputs.ReapLeftovers();
        foreach (var directory in Directory.EnumerateDirectories(_workRoot))
        {
            Workspace.DeleteLeftover(directory);
            removed++;
        }
        return removed;
    }

    /// <summary>A tmpfs /work: every input file rounded up to whole pages, plus the job's disk limit.</summary>
    private static long Capacity(InputSet? inputs, long diskBytes)
    {
        var content = inputs is null ? 0 : inputs.ContentBytes + (long)inputs.Files * Page;
        return checked((content + diskBytes + Page - 1) / Page * Page);
    }
}
