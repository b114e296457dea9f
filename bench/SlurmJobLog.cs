namespace Lcluster.Bench;

/// <summary>
/// slurmctld's job-completion file (jobcomp/filetxt, one line per finished job)
/// watched with inotify: the bench sees the last job end without asking
/// slurmctld, whose CPU and locks are what is being measured.
/// </summary>
internal sealed class SlurmJobLog : IDisposable
{
    private readonly string _path;
    private readonly FileSystemWatcher _watcher;
    private readonly SemaphoreSlim _changed = new(0);
    private long _offset; // where the lines not counted yet start

    public SlurmJobLog(string path)
    {
        _path = path;
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        _watcher.Changed += (_, _) => _changed.Release();
        _watcher.Created += (_, _) => _changed.Release();
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Counts only jobs that finish from now on.</summary>
    public void Skip() => _offset = File.Exists(_path) ? new FileInfo(_path).Length : 0;

    /// <summary>Returns when <paramref name="jobs"/> more jobs have finished; throws when one failed or time ran out.</summary>
    public async Task WaitForAsync(int jobs, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var finished = 0;
        while (true)
        {
            foreach (var line in ReadNewLines())
            {
                if (!line.Contains(" JobState=COMPLETED ", StringComparison.Ordinal) || !line.Contains(" ExitCode=0:0", StringComparison.Ordinal))
                    throw new SlurmException($"a Slurm job did not complete: {line.Trim()}");
                finished++;
            }
            if (finished >= jobs)
                return;
            if (DateTime.UtcNow > deadline)
                throw new SlurmException($"only {finished} of {jobs} Slurm jobs finished within {timeout.TotalMinutes:0} minutes (see {_path})");
            // The timeout only covers an inotify event that was lost; normally a write wakes this at once.
            await _changed.WaitAsync(TimeSpan.FromMilliseconds(250), ct);
        }
    }

    /// <summary>The complete lines written since the last call; a line still being written is left for the next.</summary>
    private List<string> ReadNewLines()
    {
        var lines = new List<string>();
        if (!File.Exists(_path))
            return lines;
        using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(_offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd();
        var end = text.LastIndexOf('\n');
        if (end < 0)
            return lines;
        lines.AddRange(text[..end].Split('\n'));
        _offset += System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(0, end + 1));
        return lines;
    }

    // The semaphore is not disposed: an inotify callback already under way may still release it.
    public void Dispose() => _watcher.Dispose();
}
