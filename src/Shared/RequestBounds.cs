namespace Lcluster.Shared;

/// <summary>
/// The bounds of an AddJob request that lclusterc checks before sending and lclusterd enforces when it
/// arrives: compiled into both programs, so the two can never disagree.
/// </summary>
internal static class RequestBounds
{
    /// <summary>The most a job's stdin may hold; lclusterc stops reading a file past it.</summary>
    public const int MaxStdinBytes = 1024 * 1024;

    /// <summary>Retries range from 0 to this.</summary>
    public const int MaxRetries = 100;

    /// <summary>Priorities range from minus this to this.</summary>
    public const int MaxPriority = 1_000_000;

    /// <summary>The most tasks one array may have.</summary>
    public const int MaxArrayTasks = 10_000;
}
