using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>
/// The jobs an AddJob records: one, or one per index of an array. Their ids derive from the
/// caller, the request id and the index, so a retried request names the same jobs and
/// creates none twice.
/// </summary>
internal static class NewJobs
{
    public static IReadOnlyList<NewJob> Build(JobRequest request, Caller caller, string requestId, DateTimeOffset now)
    {
        var indexes = request.Array is { } array ? Enumerable.Range(array.First, array.Last - array.First + 1) : [0];
        var spec = new JobSpec { Command = request.Command, Inputs = request.Inputs };
        foreach (var (key, value) in request.Env)
            spec.Env[key] = value;
        spec.Artifacts.AddRange(request.Artifacts);
        var stdin = ByteString.CopyFrom(request.Stdin);
        var specBytes = spec.CalculateSize();
        var jobs = new List<NewJob>();
        string? arrayId = null;
        foreach (var index in indexes)
        {
            var id = Id(caller.User, requestId, index);
            arrayId ??= request.Array is null ? "" : id;
            var job = new Job
            {
                Id = id,
                Name = request.Name,
                Command = JobSpecs.Preview(request.Command),
                State = JobState.Queued,
                Reason = "waiting to be placed",
                SubmittedAt = Timestamp.FromDateTimeOffset(now),
                Limits = request.Limits.ToProto(),
                Retries = request.Retries,
                Priority = request.Priority,
                Owner = caller.User,
                ArrayId = arrayId,
                ArrayIndex = request.Array is null ? 0 : index,
                InputBytes = request.Inputs?.ContentBytes ?? 0,
                InputFiles = request.Inputs?.Files ?? 0,
            };
            var entry = new QueueEntry { Priority = request.Priority, Limits = job.Limits, ArrayIndex = job.ArrayIndex };
            jobs.Add(new NewJob(new JobRecord { Job = job, HasStdin = !stdin.IsEmpty }, spec, stdin, entry, specBytes));
        }
        return jobs;
    }

    /// <summary>A UUID (version 8: name-based, SHA-256) of the caller, the request and the index.</summary>
    public static string Id(string owner, string requestId, int index)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{owner}\n{requestId}\n{index}"), hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80); // version 8
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(bytes, bigEndian: true).ToString("D");
    }
}
