using Lcluster.Etcd.Api;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>A job record as read from etcd, with the revisions a fenced write compares.</summary>
internal sealed record StoredJob(JobRecord Record, long ModRevision, long CreateRevision)
{
    public Job Job => Record.Job;
    public string Id => Record.Job.Id;
    public JobState State => Record.Job.State;

    public static StoredJob From(KeyValue kv) => new(JobRecord.Parser.ParseFrom(kv.Value), kv.ModRevision, kv.CreateRevision);

    /// <summary>
    /// The record a placement carried in its run key (<see cref="Assignment.Scheduled"/>), as it was at the key's create
    /// revision <paramref name="placement"/>; null when the key carries none. Good for a write fenced on that revision
    /// (which fails if anything changed the record since), not as a read of the job now; its create revision is unknown (0).
    /// </summary>
    public static StoredJob? AsPlaced(Assignment assignment, long placement)
    {
        if (assignment.Scheduled.IsEmpty)
            return null;
        try
        {
            return new(JobRecord.Parser.ParseFrom(assignment.Scheduled), placement, CreateRevision: 0);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return null; // not a record this version can read: the node reads the record itself
        }
    }

    /// <summary>A copy of the record to change and write back.</summary>
    public JobRecord Edit() => Record.Clone();
}

/// <summary>What a node needs to start a job besides its record: its spec (command, environment, inputs) and stdin.</summary>
internal sealed record WhatToRun(JobSpec Spec, byte[] Stdin);
