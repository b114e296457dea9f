using Lcluster.V1;

namespace Lcluster.Shared;

/// <summary>Job states as users write and read them ("running", "failed", ...), and which are ends. Compiled into both programs.</summary>
internal static class JobStates
{
    public static readonly IReadOnlyList<JobState> All =
        [JobState.Queued, JobState.Scheduled, JobState.Running, JobState.Succeeded, JobState.Failed, JobState.Cancelled, JobState.Lost];

    /// <summary>"running", "failed", ...: the .proto's JOB_STATE_RUNNING as protoc names the C# member, lower-cased.</summary>
    /// <remarks>Not through the protobuf descriptor: building it costs about a millisecond of every call.</remarks>
    public static string Name(JobState state) => state.ToString().ToLowerInvariant();

    public static bool IsFinished(JobState state) =>
        state is JobState.Succeeded or JobState.Failed or JobState.Cancelled or JobState.Lost;
}
