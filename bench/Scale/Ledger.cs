using System.Collections.Concurrent;

namespace Lcluster.Scale;

/// <summary>Which node started which job, and how often: the simulator's proof that every job ran once, and where.</summary>
internal sealed class Ledger
{
    private readonly ConcurrentDictionary<string, string> _ranOn = new(StringComparer.Ordinal);
    private long _starts;
    private long _repeats;

    public long Starts => Interlocked.Read(ref _starts);

    /// <summary>Starts of a job that had started before (on any node): zero when nothing ran twice.</summary>
    public long Repeats => Interlocked.Read(ref _repeats);

    public IReadOnlyDictionary<string, string> RanOn => _ranOn;

    public void Started(string node, string job)
    {
        Interlocked.Increment(ref _starts);
        if (!_ranOn.TryAdd(job, node))
            Interlocked.Increment(ref _repeats);
    }
}
