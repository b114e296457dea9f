using Google.Protobuf;
using Grpc.Core;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>Each lclusterc command: one call (or a few) to the server, printed for a person or as JSON.</summary>
internal sealed class Commands(Lclusterd.LclusterdClient client, TextWriter stdout, TextWriter stderr)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public async Task<int> RunAsync(Invocation invocation, CancellationToken ct)
    {
        var options = new CallOptions(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: ct);
        switch (invocation.Verb)
        {
            case Verb.AddJob:
                return await AddJobAsync(invocation, options, ct);
            case Verb.CheckJob:
                var job = await client.CheckJobAsync(new CheckJobRequest { Id = invocation.JobId }, options);
                stdout.Write(invocation.Json ? JsonOutput.Job(job) + "\n" : HumanOutput.Job(job, DateTimeOffset.UtcNow));
                return ExitCodes.Ok;
            case Verb.RemoveJob:
                var removed = await client.RemoveJobAsync(new RemoveJobRequest { Id = invocation.JobId }, options);
                stdout.WriteLine(removed.Deleted
                    ? $"{invocation.JobId}: deleted ({JobStates.Name(removed.State)})"
                    : $"{invocation.JobId}: {JobStates.Name(removed.State)}");
                return ExitCodes.Ok;
            case Verb.ListJobs:
                var jobs = await ListAsync(new ListJobsRequest { State = invocation.StateFilter }, invocation.Limit, options);
                stdout.Write(invocation.Json ? JsonOutput.Jobs(jobs) + "\n" : HumanOutput.Jobs(jobs, DateTimeOffset.UtcNow));
                return ExitCodes.Ok;
            case Verb.Output:
                var stream = invocation.Stderr ? OutputStream.Stderr : OutputStream.Stdout;
                // The stream asked for goes to stdout either way, so it can be piped.
                await CopyOutputAsync(invocation.JobId, stream, invocation.Follow, Console.OpenStandardOutput(), ct);
                return ExitCodes.Ok;
            case Verb.Nodes:
                var nodes = await client.ListNodesAsync(new ListNodesRequest(), options);
                stdout.Write(invocation.Json ? JsonOutput.Nodes(nodes.Nodes) + "\n" : HumanOutput.Nodes(nodes.Nodes, DateTimeOffset.UtcNow));
                return ExitCodes.Ok;
            default:
                throw new UsageException($"{invocation.Verb} is not a command");
        }
    }

    private async Task<int> AddJobAsync(Invocation invocation, CallOptions options, CancellationToken ct)
    {
        var request = invocation.AddJob.Clone();
        if (invocation.StdinFile is { } file)
            request.Stdin = ByteString.CopyFrom(await ReadStdinAsync(file, ct));
        var added = await client.AddJobAsync(request, options);
        stdout.WriteLine(added.Id);
        stdout.Flush();
        if (!invocation.Wait)
            return ExitCodes.Ok;

        var copyOut = CopyOutputAsync(added.Id, OutputStream.Stdout, follow: true, Console.OpenStandardOutput(), ct);
        var copyErr = CopyOutputAsync(added.Id, OutputStream.Stderr, follow: true, Console.OpenStandardError(), ct);
        await Task.WhenAll(copyOut, copyErr);
        var check = new CheckJobRequest { Id = added.Id };
        var job = await client.CheckJobAsync(check, options);
        while (!JobStates.IsFinished(job.State))
        {
            // The output streams end with the job; its record may trail by a moment.
            await Task.Delay(50, ct);
            job = await client.CheckJobAsync(check, options);
        }
        return WaitExitCode(job);
    }

    /// <summary>Jobs newest first, page after page, up to <paramref name="limit"/> (0: the newest 1000).</summary>
    private async Task<List<Job>> ListAsync(ListJobsRequest request, int limit, CallOptions options)
    {
        const int PageSize = 1000;
        var wanted = limit == 0 ? PageSize : limit;
        var jobs = new List<Job>();
        do
        {
            request.PageSize = Math.Min(PageSize, wanted - jobs.Count);
            var page = await client.ListJobsAsync(request, options);
            jobs.AddRange(page.Jobs);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0 && jobs.Count < wanted);
        return jobs;
    }

    /// <summary>The job's own exit code; 128+N when killed by signal N; 125 when it never ran (like docker run).</summary>
    private int WaitExitCode(Job job)
    {
        if (job.ExitCode is { } code)
            return code;
        if (job.Signal != 0)
        {
            stderr.WriteLine($"lclusterc: job {job.Id} {JobStates.Name(job.State)}: {job.Reason}");
            return 128 + job.Signal;
        }
        stderr.WriteLine($"lclusterc: job {job.Id} {JobStates.Name(job.State)}: {job.Reason}");
        return job.State == JobState.Lost ? ExitCodes.Failed : 125;
    }

    private async Task CopyOutputAsync(string id, OutputStream which, bool follow, Stream destination, CancellationToken ct)
    {
        using var call = client.GetOutput(new GetOutputRequest { Id = id, Stream = which, Follow = follow }, cancellationToken: ct);
        while (await call.ResponseStream.MoveNext(ct))
        {
            call.ResponseStream.Current.Data.WriteTo(destination);
            await destination.FlushAsync(ct);
        }
    }

    private static async Task<byte[]> ReadStdinAsync(string file, CancellationToken ct)
    {
        Stream source;
        try
        {
            source = file == "-" ? Console.OpenStandardInput() : File.OpenRead(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{ClientFlags.Stdin.Name}: cannot read {file}: {e.Message}");
        }
        await using (source)
        {
            var buffer = new MemoryStream();
            var chunk = new byte[65536];
            int n;
            while ((n = await source.ReadAsync(chunk, ct)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > RequestBounds.MaxStdinBytes)
                    throw new UsageException($"{ClientFlags.Stdin.Name}: {(file == "-" ? "standard input" : file)} is over the limit of {Units.FormatBytes(RequestBounds.MaxStdinBytes)}");
            }
            return buffer.ToArray();
        }
    }
}
