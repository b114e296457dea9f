using Lcluster.Shared;
using Google.Protobuf.WellKnownTypes;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

/// <summary>Job records as etcd would hold them, for the tests of pure decisions.</summary>
internal static class JobRecords
{
    public static readonly DateTimeOffset Submitted = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    public static StoredJob Stored(JobState state, string node = "", long incarnation = 0, int attempts = 0, int retries = 0,
        bool cancelRequested = false, string owner = "alice", string id = "3f2b8c1e-7d4a-4e2b-9c1d-0a1b2c3d4e5f", long createRevision = 10) =>
        new(new JobRecord
        {
            Job = new Job
            {
                Id = id, Command = "true", State = state, Node = node, Attempts = attempts, Retries = retries, Owner = owner,
                SubmittedAt = Timestamp.FromDateTimeOffset(Submitted), Limits = new Limits { MemoryBytes = 64 << 20, Cpus = 1 },
                FinishedAt = JobStates.IsFinished(state) ? Timestamp.FromDateTimeOffset(Submitted.AddMinutes(1)) : null,
            },
            NodeIncarnation = incarnation,
            CancelRequested = cancelRequested,
        }, ModRevision: createRevision + 5, CreateRevision: createRevision);
}
