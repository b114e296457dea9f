namespace Lcluster.Daemon.Node;

/// <summary>
/// Where a node keeps the output of the jobs it ran: DATA_DIR/output/ID/
/// {stdout,stderr}, `artifacts.tar` when the job asked for artifacts, and `outcome`, its result as this node saw it
/// (OutcomeFile).
/// </summary>
internal sealed class OutputFiles(string dataDir)
{
    public const int TailBytes = 64 * 1024;

    public string Root { get; } = Path.Combine(dataDir, "output");

    public string DirectoryOf(string id) => Path.Combine(Root, id);

    public string StreamPath(string id, bool stderr) => Path.Combine(DirectoryOf(id), stderr ? "stderr" : "stdout");

    public string OutcomePath(string id) => Path.Combine(DirectoryOf(id), "outcome");

    /// <summary>The artifacts collected from the job's /work when it ended (docs/files.md).</summary>
    public string ArtifactsPath(string id) => Path.Combine(DirectoryOf(id), "artifacts.tar");

    public void Prepare(string id)
    {
        Delete(id);
        Directory.CreateDirectory(DirectoryOf(id));
    }

    public bool Exists(string id) => Directory.Exists(DirectoryOf(id));

    /// <summary>The last <see cref="TailBytes"/> of a stream, or empty.</summary>
    public byte[] Tail(string id, bool stderr)
    {
        var path = StreamPath(id, stderr);
        if (!File.Exists(path))
            return [];
        using var file = File.OpenRead(path);
        var start = Math.Max(0, file.Length - TailBytes);
        file.Position = start;
        var tail = new byte[file.Length - start];
        file.ReadExactly(tail);
        return tail;
    }

    public void Delete(string id)
    {
        var dir = DirectoryOf(id);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }

    /// <summary>Job ids with an output directory here.</summary>
    public IEnumerable<string> Ids() =>
        Directory.Exists(Root) ? Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>() : [];
}
