using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>
/// A client that vanishes while its call is open (its host down, a link cut: nothing more comes from it, not even
/// a reset) does not hold that call for good: the node pings a silent connection and closes it when no answer comes.
/// </summary>
public sealed class KeepAliveTests
{
    [Fact]
    public async Task A_watch_whose_client_stopped_answering_is_closed_by_the_node()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings
        {
            NodeName = "keepalive",
            ExtraArgs = ["--slots=1", "--insecure", "--keepalive=2s"],
        });
        await using var proxy = new TcpProxy("127.0.0.1", daemon.Port);
        // A client with no pings of its own (the node's alone are under test).
        using var channel = GrpcChannel.ForAddress(proxy.Url);
        var client = new Lclusterd.LclusterdClient(channel);

        // A job's events from its beginning: the first arrives, so the call is open through the proxy.
        var id = (await TestSupport.Cli.OkAsync(daemon.Server, null, "--addjob=true")).Trim();
        using var watch = client.WatchJobs(new WatchJobsRequest { Id = id, StartRevision = 1 });
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(id, watch.ResponseStream.Current.Job.Id);

        // From now on nothing the node sends arrives, so its pings go unanswered; the client sends nothing either.
        proxy.DropAnswers();
        var silent = Stopwatch.StartNew();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ended = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            while (await watch.ResponseStream.MoveNext(limit.Token))
            {
                // Events the node sent before the connection was cut off never arrive: nothing to read here.
            }
        });
        Assert.False(limit.IsCancellationRequested, $"the node still held the silent connection after {silent.Elapsed}: {ended.Message}");
        Assert.True(ended is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.Internal }, ended.ToString());
        // One keep-alive interval of silence before the ping, one more for its answer.
        Assert.InRange(silent.Elapsed, TimeSpan.FromSeconds(3.5), TimeSpan.FromSeconds(15));
        Assert.Equal(0, proxy.OpenConnections);

        // The node itself serves on.
        Assert.Contains(id, await TestSupport.Cli.OkAsync(daemon.Server, null, "--listjobs"));
    }
}
