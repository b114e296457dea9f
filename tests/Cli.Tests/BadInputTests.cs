using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>docs/spec.md §4: every bad request gets a status and a message a person understands; the daemon keeps serving and loses nothing.</summary>
[Collection("single node")]
public sealed class BadInputTests(SingleNode node)
{
    private Lclusterd.LclusterdClient Client => node.Client;

    public static TheoryData<string, AddJobRequest, string> BadJobs => new()
    {
        { "empty command", new AddJobRequest { Command = "" }, "command is empty" },
        { "blank command", new AddJobRequest { Command = "  \n" }, "command is empty" },
        { "over-long command", new AddJobRequest { Command = new string('x', 64 * 1024 + 1) }, "over the limit of 64 KiB" },
        { "NUL in command", new AddJobRequest { Command = "echo a\0b" }, "NUL" },
        { "NUL in env", new AddJobRequest { Command = "true", Env = { ["A"] = "x\0" } }, "NUL" },
        { "bad env name", new AddJobRequest { Command = "true", Env = { ["1A"] = "x" } }, "not valid" },
        { "reserved env", new AddJobRequest { Command = "true", Env = { ["LCLUSTER_JOB_ID"] = "x" } }, "set by lclusterd" },
        { "negative memory", new AddJobRequest { Command = "true", Limits = new Limits { MemoryBytes = -1 } }, "negative" },
        { "memory over max", new AddJobRequest { Command = "true", Limits = new Limits { MemoryBytes = 2L << 30 } }, "over this node's maximum of 1 GiB" },
        { "negative cpus", new AddJobRequest { Command = "true", Limits = new Limits { Cpus = -0.5 } }, "cpus" },
        { "NaN cpus", new AddJobRequest { Command = "true", Limits = new Limits { Cpus = double.NaN } }, "cpus" },
        { "negative pids", new AddJobRequest { Command = "true", Limits = new Limits { Pids = -3 } }, "pids" },
        { "negative time", new AddJobRequest { Command = "true", Limits = new Limits { TimeSeconds = -1 } }, "time limit" },
        { "time over max", new AddJobRequest { Command = "true", Limits = new Limits { TimeSeconds = 3600 } }, "over this node's maximum" },
        { "oversized stdin", new AddJobRequest { Command = "cat", Stdin = ByteString.CopyFrom(new byte[1024 * 1024 + 1]) }, "over the limit of 1 MiB" },
        { "negative retries", new AddJobRequest { Command = "true", Retries = -1 }, "retries" },
    };

    [Theory]
    [MemberData(nameof(BadJobs))]
    public async Task A_bad_job_is_refused_with_invalid_argument_and_nothing_is_recorded(string what, AddJobRequest request, string message)
    {
        var before = (await Client.ListJobsAsync(new ListJobsRequest()).ResponseAsync).Jobs.Count;

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.AddJobAsync(request).ResponseAsync);

        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{what}: {error.StatusCode} {error.Status.Detail}");
        Assert.Contains(message, error.Status.Detail);
        Assert.Equal(before, (await Client.ListJobsAsync(new ListJobsRequest()).ResponseAsync).Jobs.Count);
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("")]
    [InlineData("123e4567-e89b-12d3-a456-42661417400g")]
    [InlineData("../../etc/passwd")]
    public async Task A_malformed_job_id_is_invalid_argument_for_every_rpc(string id)
    {
        foreach (var call in new Func<Task>[]
        {
            () => Client.CheckJobAsync(new CheckJobRequest { Id = id }).ResponseAsync,
            () => Client.RemoveJobAsync(new RemoveJobRequest { Id = id }).ResponseAsync,
            async () =>
            {
                using var stream = Client.GetOutput(new GetOutputRequest { Id = id });
                await stream.ResponseStream.MoveNext(CancellationToken.None);
            },
        })
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Contains("job id", error.Status.Detail);
        }
    }

    [Fact]
    public async Task An_unknown_job_is_not_found_and_the_client_exits_3()
    {
        var id = Guid.NewGuid().ToString();

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.CheckJobAsync(new CheckJobRequest { Id = id }).ResponseAsync);
        var cli = await node.RunAsync($"--checkjob={id}");

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains(id, error.Status.Detail);
        Assert.Equal(3, cli.ExitCode);
        Assert.Contains($"no job {id}", cli.Stderr);
    }

    [Fact]
    public async Task Unparsable_limits_on_the_command_line_are_usage_errors_with_exit_code_2()
    {
        foreach (var args in new[] { new[] { "--addjob=true", "--memory=lots" }, ["--addjob=true", "--cpus=-1"], ["--addjob=true", "--time=soon"], ["--addjob=true", "--pids=x"], ["--checkjob="], ["--bogus"] })
        {
            var result = await node.RunAsync(args);
            Assert.True(result.ExitCode == 2, $"{string.Join(' ', args)}: {result}");
            Assert.StartsWith("lclusterc: ", result.Stderr);
            Assert.DoesNotContain("   at ", result.Stderr);
        }
    }

    [Fact]
    public async Task An_unreachable_server_is_exit_code_4_with_the_cause()
    {
        var result = await Lcluster.TestSupport.Cli.RunAsync("127.0.0.1:1", "--nodes");

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("lclusterc: cannot reach lclusterd at 127.0.0.1:1: connection refused\n", result.Stderr);
    }

    [Fact]
    public async Task A_server_that_answers_in_something_other_than_http2_is_unreachable_too()
    {
        // What a plain call to a node's TLS port can meet, depending on who speaks first: a peer that answers,
        // but not in HTTP/2. The client must say it could not reach lclusterd, and what a TCP address wants.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var answering = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var peer = await listener.AcceptTcpClientAsync(stop.Token);
                var stream = peer.GetStream();
                _ = await stream.ReadAsync(new byte[1024], stop.Token);
                await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), stop.Token);
            }
        });
        var address = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

        var result = await Lcluster.TestSupport.Cli.RunAsync(address, "--nodes");

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.StartsWith($"lclusterc: cannot reach lclusterd at {address}: ", result.Stderr);
        Assert.Contains("give --cacert, --cert and --key", result.Stderr);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => answering);
    }

    [Fact]
    public async Task Garbage_on_the_grpc_port_does_not_hurt_the_daemon_or_its_jobs()
    {
        var kept = await node.AddAsync("--addjob=echo kept");
        var port = int.Parse(node.Daemon.Address.Split(':')[1]);
        foreach (var garbage in new[] { "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), new byte[4096], "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff"u8.ToArray() })
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync("127.0.0.1", port);
            await socket.GetStream().WriteAsync(garbage);
            await Task.Delay(100);
        }

        Assert.Equal(0, (await node.RunAsync("--nodes")).ExitCode);
        await node.WaitForStateAsync(kept, TimeSpan.FromSeconds(30), "succeeded");
        Assert.Equal("kept\n", (await node.RunAsync($"--output={kept}")).Stdout);
    }
}
