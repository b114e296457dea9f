using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>Job state names as users write and read them ("running", "failed", ...).</summary>
internal static class JobStates
{
    public static readonly IReadOnlyList<JobState> All =
        [JobState.Queued, JobState.Scheduled, JobState.Running, JobState.Succeeded, JobState.Failed, JobState.Cancelled, JobState.Lost];

    /// <summary>The enum value's name in the .proto, e.g. JOB_STATE_RUNNING.</summary>
    public static string ProtoName(JobState state) =>
        LclusterReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("JobState")
            .FindValueByNumber((int)state)?.Name ?? $"JOB_STATE_{(int)state}";

    /// <summary>"running", "failed", ...</summary>
    public static string Name(JobState state) => ProtoName(state).Replace("JOB_STATE_", "").ToLowerInvariant();

    public static bool IsFinished(JobState state) =>
        state is JobState.Succeeded or JobState.Failed or JobState.Cancelled or JobState.Lost;
}
