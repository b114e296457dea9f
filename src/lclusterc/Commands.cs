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
                var filter = new ListJobsRequest { State = invocation.StateFilter, Owner = invocation.Owner ?? "", Name = invocation.NameFilter ?? "" };
                var (jobs, revision) = await ListAsync(filter, invocation.Limit, options);
                stdout.Write(invocation.Json ? JsonOutput.Jobs(jobs) + "\n" : HumanOutput.Jobs(jobs, DateTimeOffset.UtcNow));
                if (invocation.Watch)
                {
                    stdout.Flush();
                    await WatchListingAsync(invocation, revision, ct);
                }
                return ExitCodes.Ok;
            case Verb.Output:
                var stream = invocation.Stderr ? OutputStream.Stderr : OutputStream.Stdout;
                // The stream asked for goes to stdout either way, so it can be piped.
                await CopyOutputAsync(invocation.JobId, stream, invocation.Follow, Console.OpenStandardOutput(), ct);
                return ExitCodes.Ok;
            case Verb.Download:
                return await ArtifactDownload.RunAsync(client, invocation.JobId, invocation.To, stdout, stderr, ct);
            case Verb.Nodes:
                var nodes = await client.ListNodesAsync(new ListNodesRequest(), options);
                stdout.Write(invocation.Json ? JsonOutput.Nodes(nodes.Nodes) + "\n" : HumanOutput.Nodes(nodes.Nodes, DateTimeOffset.UtcNow));
                return ExitCodes.Ok;
            case Verb.Dashboard:
                var link = await client.CreateDashboardTokenAsync(new CreateDashboardTokenRequest(), options);
                stdout.WriteLine(PrintableText.Escape(link.Url));
                stderr.WriteLine($"lclusterc: the link signs {PrintableText.Escape(link.User)} in until {link.ExpiresAt.ToDateTimeOffset():yyyy-MM-dd HH:mm}Z; keep it to yourself");
                return ExitCodes.Ok;
            default:
                throw new UsageException($"{invocation.Verb} is not a command");
        }
    }

    private async Task<int> AddJobAsync(Invocation invocation, CallOptions options, CancellationToken ct)
    {
        var request = invocation.AddJob.Clone();
        // Chosen once per submission: a call sent again names the same jobs and creates none twice.
        request.RequestId = Guid.NewGuid().ToString("N");
        if (invocation.StdinFile is { } file)
            request.Stdin = ByteString.CopyFrom(await ReadStdinAsync(file, ct));
        if (invocation.Inputs.Count > 0)
            request.Inputs = await InputUpload.SendAsync(client, invocation.Inputs, ct);
        // Watching from a revision read before the submission: the job's end cannot slip through.
        using var ends = invocation.Wait
            ? client.WatchJobs(new WatchJobsRequest { StartRevision = (await client.ListJobsAsync(new ListJobsRequest { PageSize = 1 }, options)).Revision + 1 }, cancellationToken: ct)
            : null;
        var added = await SubmitAsync(request, options, ct);
        foreach (var id in added.Ids)
            stdout.WriteLine(PrintableText.Escape(id));
        stdout.Flush();
        if (ends is null)
            return ExitCodes.Ok;
        if (request.Array is not null)
            return WaitExitCode(await WaitEndsAsync(ends, added.Ids.ToHashSet(), ct), many: true);

        var copyOut = CopyOutputAsync(added.Id, OutputStream.Stdout, follow: true, Console.OpenStandardOutput(), ct);
        var copyErr = CopyOutputAsync(added.Id, OutputStream.Stderr, follow: true, Console.OpenStandardError(), ct);
        var end = WaitEndsAsync(ends, new HashSet<string> { added.Id }, ct);
        await Task.WhenAll(copyOut, copyErr, end);
        return WaitExitCode(await end, many: false);
    }

    /// <summary>
    /// AddJob, sent again (with the same request id, so no job is made twice) when the node could
    /// not be reached or the connection broke before the answer came.
    /// </summary>
    private async Task<AddJobResponse> SubmitAsync(AddJobRequest request, CallOptions options, CancellationToken ct)
    {
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await client.AddJobAsync(request, options);
            }
            catch (RpcException e) when (attempt < Attempts && e.StatusCode == StatusCode.Unavailable && !ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct);
            }
        }
    }

    /// <summary>The final records of the given jobs, as their ends come through the watch.</summary>
    private static async Task<IReadOnlyList<Job>> WaitEndsAsync(AsyncServerStreamingCall<JobEvent> events, IReadOnlySet<string> ids, CancellationToken ct)
    {
        var ended = new Dictionary<string, Job>();
        while (ended.Count < ids.Count && await events.ResponseStream.MoveNext(ct))
        {
            var change = events.ResponseStream.Current;
            if (ids.Contains(change.Job.Id) && (JobStates.IsFinished(change.Job.State) || change.Deleted))
                ended[change.Job.Id] = change.Job;
        }
        if (ended.Count < ids.Count)
            throw new RpcException(new Status(StatusCode.Unavailable, "the node ended the watch before the job did; check it with --checkjob"));
        return [.. ended.Values];
    }

    /// <summary>--listjobs --watch: after the listing, every change from the revision it was read at, one line each.</summary>
    private async Task WatchListingAsync(Invocation invocation, long revision, CancellationToken ct)
    {
        using var events = client.WatchJobs(new WatchJobsRequest { StartRevision = revision + 1, Owner = invocation.Owner ?? "" }, cancellationToken: ct);
        while (await events.ResponseStream.MoveNext(ct))
        {
            var change = events.ResponseStream.Current;
            if (invocation.StateFilter != JobState.Unspecified && change.Job.State != invocation.StateFilter)
                continue;
            stdout.WriteLine(invocation.Json ? JsonOutput.Event(change) : HumanOutput.Event(change, DateTimeOffset.UtcNow));
            stdout.Flush();
        }
    }

    /// <summary>Jobs newest first, page after page, up to <paramref name="limit"/> (0: the newest 1000); and the revision of the first page.</summary>
    private async Task<(List<Job> Jobs, long Revision)> ListAsync(ListJobsRequest request, int limit, CallOptions options)
    {
        const int PageSize = 1000;
        var wanted = limit == 0 ? PageSize : limit;
        var jobs = new List<Job>();
        long revision = 0;
        do
        {
            request.PageSize = Math.Min(PageSize, wanted - jobs.Count);
            var page = await client.ListJobsAsync(request, options);
            jobs.AddRange(page.Jobs);
            revision = revision == 0 ? page.Revision : revision;
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0 && jobs.Count < wanted);
        return (jobs, revision);
    }

    /// <summary>The exit code of the one job, or the highest of an array's tasks (as sbatch --wait does).</summary>
    private int WaitExitCode(IReadOnlyList<Job> jobs, bool many) =>
        many ? jobs.Select(j => WaitExitCode(j, quiet: true)).Max() : WaitExitCode(jobs[0], quiet: false);

    /// <summary>The job's own exit code; 128+N when killed by signal N; 125 when it never ran (like docker run).</summary>
    private int WaitExitCode(Job job, bool quiet)
    {
        if (job.ExitCode is { } code)
            return code;
        if (!quiet)
            stderr.WriteLine($"lclusterc: job {PrintableText.Escape(job.Id)} {JobStates.Name(job.State)}: {PrintableText.Escape(job.Reason)}");
        if (job.Signal != 0)
            return 128 + job.Signal;
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
