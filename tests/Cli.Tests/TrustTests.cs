extern alias daemon;

using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Lcluster.Shared;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>
/// Who may do what, tried by callers who should not: other users on the node's socket, a TCP caller without the
/// cluster's certificate, a local user at the embedded etcd, and what a job's root is on the host.
/// </summary>
public sealed class TrustTests : IAsyncLifetime
{
    /// <summary>Two ordinary users of the node and the group its socket is open to.</summary>
    private const string Alice = "nobody", Bob = "daemon", SocketGroup = "users";

    /// <summary>A third user, for the quotas (what it holds stays held until retention).</summary>
    private const string Carol = "mail";

    /// <summary>A fourth, for the output a user's jobs keep in etcd.</summary>
    private const string Erin = "news";

    /// <summary>A fifth, for the inputs a user's uploads keep on the node.</summary>
    private const string Frank = "uucp";

    private const int MaxQueued = 50;

    private DaemonProcess _daemon = null!;
    private string _authority = null!;

    public async Task InitializeAsync()
    {
        _authority = CertificateTool.NewAuthority();
        _daemon = await DaemonProcess.StartAsync(new DaemonSettings
        {
            NodeName = "trust",
            SocketGroup = SocketGroup,
            CertificateAuthority = _authority,
            ExtraArgs = ["--slots=2", "--default-memory=128M", $"--user-max-queued={MaxQueued}", "--user-max-bytes=1536K", "--user-max-inputs=3M"],
        });
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(_authority)!, recursive: true);
    }

    /// <summary>A channel over TLS with the certificate of "dave", a user of the cluster (not of this machine).</summary>
    private Grpc.Net.Client.GrpcChannel DavesChannel(DelegatingHandler? outer = null)
    {
        if (!Directory.Exists($"{_authority}/users/dave"))
            CertificateTool.Run("ca", "user", "--name=dave", $"--dir={_authority}");
        var tls = TlsIdentity.Load(Path.Combine(_authority, "ca.crt"), $"{_authority}/users/dave/user.crt", $"{_authority}/users/dave/user.key");
        if (outer is null)
            return NodeChannel.Open(_daemon.Address, tls.ClientOptions());
        outer.InnerHandler = new SocketsHttpHandler { SslOptions = tls.ClientOptions() };
        return Grpc.Net.Client.GrpcChannel.ForAddress($"https://{_daemon.Address}", new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = outer });
    }

    private Task<CliResult> As(string user, params string[] args) => TestSupport.Cli.RunAsUserAsync(user, SocketGroup, _daemon.Server, args);

    private static string IdOf(CliResult added)
    {
        Assert.True(added.ExitCode == 0, $"addjob failed: {added}");
        return added.Stdout.Trim();
    }

    [Fact]
    public async Task A_user_on_the_socket_sees_and_removes_only_their_own_jobs()
    {
        var alices = IdOf(await As(Alice, "--addjob=sleep 60"));
        var bobs = IdOf(await As(Bob, "--addjob=sleep 60"));

        var mine = await As(Alice, $"--checkjob={alices}", "--json");
        Assert.True(mine.ExitCode == 0, mine.ToString());
        Assert.Equal(Alice, JsonDocument.Parse(mine.Stdout).RootElement.GetProperty("owner").GetString());

        foreach (var attempt in new[] { $"--checkjob={bobs}", $"--removejob={bobs}", $"--output={bobs}" })
        {
            var denied = await As(Alice, attempt);
            Assert.True(denied.ExitCode != 0, $"{attempt} as {Alice}: {denied}");
            Assert.Contains("belongs to another user", denied.Stderr);
        }
        var listed = await As(Alice, "--listjobs", "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains(alices, listed.Stdout);
        Assert.DoesNotContain(bobs, listed.Stdout);
        var others = await As(Alice, "--listjobs", $"--owner={Bob}");
        Assert.True(others.ExitCode != 0, others.ToString());
        Assert.Contains("only an admin may list another user's jobs", others.Stderr);

        // Bob's job was not touched; root (an admin on the socket) sees both owners; each removes their own.
        var bobsState = JsonDocument.Parse((await As(Bob, $"--checkjob={bobs}", "--json")).Stdout).RootElement;
        Assert.NotEqual("cancelled", bobsState.GetProperty("state").GetString());
        var all = await TestSupport.Cli.OkAsync(_daemon.Server, null, "--listjobs", "--json");
        Assert.Contains(alices, all);
        Assert.Contains(bobs, all);
        Assert.True((await As(Alice, $"--removejob={alices}")).ExitCode == 0);
        Assert.True((await As(Bob, $"--removejob={bobs}")).ExitCode == 0);
    }

    [Fact]
    public async Task Terminal_escapes_and_bidi_characters_in_a_job_reach_neither_the_listing_nor_the_log_raw()
    {
        var id = IdOf(await As(Alice, "--addjob=echo hi # \u001b[2J\u001b]0;owned\u0007", "--name=safe\u202egnp.exe"));
        var listing = await As(Alice, "--listjobs");
        var check = await As(Alice, $"--checkjob={id}");
        foreach (var shown in new[] { listing.Stdout, check.Stdout, _daemon.LogText() })
        {
            Assert.DoesNotContain('\u001b', shown);
            Assert.DoesNotContain('\u0007', shown);
            Assert.DoesNotContain('\u202e', shown);
        }
        Assert.Contains("\\x1b[2J", listing.Stdout + check.Stdout);
        Assert.Contains("safe\\u202egnp.exe", check.Stdout);
        Assert.Contains($"job {id} queued by {Alice} (safe\\u202egnp.exe: echo hi # \\x1b[2J", _daemon.LogText());
    }

    [Fact]
    public async Task A_user_past_a_quota_is_refused_with_resource_exhausted_and_nothing_is_written()
    {
        // More queued jobs than the quota in one request: refused whole.
        var many = await As(Carol, "--addjob=true", $"--array=1-{MaxQueued + 1}");
        Assert.True(many.ExitCode == 1, many.ToString());
        Assert.Contains($"would pass the quota of {MaxQueued} queued jobs per user", many.Stderr);
        Assert.DoesNotContain("\"owner\":\"mail\"", await TestSupport.Cli.OkAsync(_daemon.Server, null, "--listjobs", "--json", $"--owner={Carol}"));

        // Bytes held in etcd: a 1 MiB stdin fits, a second does not (the first is still stored).
        var stdin = new byte[1 << 20];
        var first = await TestSupport.Cli.RunInAsync(_daemon.Server, null, stdin, "--addjob=wc -c", "--stdin=-");
        Assert.True(first.ExitCode == 0, first.ToString()); // root: an admin, no quota; now as Carol:
        var path = Path.Combine("/tmp", $"lcluster-quota-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, stdin);
        File.SetUnixFileMode(path, (UnixFileMode)0x1A4); // 0644
        try
        {
            IdOf(await As(Carol, "--addjob=wc -c", $"--stdin={path}"));
            var second = await As(Carol, "--addjob=wc -c", $"--stdin={path}");
            Assert.True(second.ExitCode == 1, second.ToString());
            Assert.Contains("would pass the quota of 1.5 MiB per user", second.Stderr);
            // Small jobs of another user are not held back by Carol's.
            IdOf(await As(Bob, "--addjob=true"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task The_output_a_users_finished_jobs_keep_in_etcd_counts_toward_their_bytes_quota()
    {
        // Twelve jobs that print 64 KiB on each stream: etcd keeps both tails of each, 1.5 MiB in all, the quota.
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
            ids.Add(IdOf(await As(Erin, "--addjob=head -c 65536 /dev/zero; head -c 65536 /dev/zero >&2")));
        foreach (var id in ids)
            await FinishedAsync(_daemon.Server, id);

        // The node learns of each tail from its watch of the usage ledger, a moment after the job's end.
        CliResult next;
        var attempts = 0;
        while ((next = await As(Erin, "--addjob=true")).ExitCode == 0 && ++attempts < 10)
            await Task.Delay(100);
        Assert.True(next.ExitCode == 1, $"a job past the quota was taken after {attempts} tries: {next}");
        Assert.Contains("would pass the quota of 1.5 MiB per user", next.Stderr);
    }

    [Fact]
    public async Task A_users_uploads_on_a_node_stay_within_their_inputs_quota()
    {
        var dir = Path.Combine("/tmp", $"lcluster-inputs-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0x1ED); // 0755
        string Input(string name, int bytes)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, new byte[bytes]);
            File.SetUnixFileMode(path, (UnixFileMode)0x1A4); // 0644
            return path;
        }
        try
        {
            // 2 MiB fits in the 3 MiB quota; 2 MiB more would not (and is not kept); 512 KiB more does.
            IdOf(await As(Frank, "--addjob=true", $"--input={Input("a", 2 << 20)}"));
            var refused = await As(Frank, "--addjob=true", $"--input={Input("b", 2 << 20)}");
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Contains("would pass the quota of 3 MiB per user (--user-max-inputs", refused.Stderr);
            IdOf(await As(Frank, "--addjob=true", $"--input={Input("c", 512 << 10)}"));
            // An admin has no such quota; another user is not held back by Frank's.
            IdOf(await TestSupport.Cli.RunInAsync(_daemon.Server, null, null, "--addjob=true", $"--input={Path.Combine(dir, "b")}"));
            IdOf(await As(Bob, "--addjob=true", $"--input={Path.Combine(dir, "b")}"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Requests_sent_at_the_same_moment_stay_within_a_quota_together_and_another_users_job_cannot_be_watched()
    {
        // Twelve 1 MiB submissions at once from one user, over TLS with a certificate of the cluster: the quota
        // (1.5 MiB) lets exactly one through, however close together they arrive.
        using var channel = DavesChannel();
        var client = new Lclusterd.LclusterdClient(channel);
        var stdin = ByteString.CopyFrom(new byte[1 << 20]);
        await client.ListJobsAsync(new ListJobsRequest { PageSize = 1 }); // connected before the burst
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            try
            {
                await client.AddJobAsync(new AddJobRequest { Command = "wc -c", Stdin = stdin });
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                Assert.True(e.StatusCode == StatusCode.ResourceExhausted, e.ToString());
                Assert.Contains("would pass the quota of 1.5 MiB per user", e.Status.Detail);
                return e.StatusCode;
            }
        }));
        Assert.Equal(1, outcomes.Count(o => o == StatusCode.OK));
        var daves = await client.ListJobsAsync(new ListJobsRequest());
        Assert.Single(daves.Jobs);

        // Watching one job: another user's is refused as CheckJob refuses it, an unknown one is not found.
        var roots = (await TestSupport.Cli.OkAsync(_daemon.Server, null, "--addjob=true")).Trim();
        using var theirs = client.WatchJobs(new WatchJobsRequest { Id = roots }, deadline: DateTime.UtcNow.AddSeconds(10));
        var denied = await Assert.ThrowsAsync<RpcException>(() => theirs.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("belongs to another user", denied.Status.Detail);
        using var unknown = client.WatchJobs(new WatchJobsRequest { Id = Guid.NewGuid().ToString() }, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => unknown.ResponseStream.MoveNext())).StatusCode);
    }

    [Fact]
    public async Task A_request_sent_again_after_its_answer_was_lost_is_not_counted_twice_against_a_quota()
    {
        // A client that lost an answer sends the request again under its request id, as lclusterc does. The jobs it
        // made are what the user holds, not more on top of it: at the quota, the second sending gets the same jobs.
        using var channel = DavesChannel();
        var client = new Lclusterd.LclusterdClient(channel);
        var array = new AddJobRequest { Command = "sleep 600", Array = new ArrayRange { First = 1, Last = MaxQueued }, RequestId = "fills-the-queue" };
        var queued = await client.AddJobAsync(array);
        Assert.Equal(MaxQueued, queued.Ids.Count);
        Assert.Equal(queued.Ids, (await client.AddJobAsync(array)).Ids);
        var big = new AddJobRequest { Command = "wc -c", Stdin = ByteString.CopyFrom(new byte[1 << 20]), RequestId = "one-mebibyte" };
        // The queue is full until a slot takes one of the array (2 slots): then the 1 MiB job fits the count.
        var bigId = "";
        for (var tries = 0; bigId.Length == 0; tries++)
        {
            try
            {
                bigId = (await client.AddJobAsync(big)).Id;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && e.Status.Detail.Contains("queued jobs per user") && tries < 100)
            {
                await Task.Delay(100);
            }
        }
        Assert.Equal(bigId, (await client.AddJobAsync(big)).Id);

        // A new request is still held to the quota, for either count.
        var other = await Assert.ThrowsAsync<RpcException>(() => client.AddJobAsync(new AddJobRequest { Command = "wc -c", Stdin = big.Stdin, RequestId = "another" }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, other.StatusCode);
        var two = new AddJobRequest { Command = "true", Array = new ArrayRange { First = 1, Last = 2 }, RequestId = "two-more" };
        var more = await Assert.ThrowsAsync<RpcException>(() => client.AddJobAsync(two).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, more.StatusCode);
        Assert.Contains($"would pass the quota of {MaxQueued} queued jobs per user", more.Status.Detail);
        Assert.Equal(MaxQueued + 1, (await client.ListJobsAsync(new ListJobsRequest { PageSize = 100 })).Jobs.Count);
    }

    [Fact]
    public async Task One_user_holds_at_most_its_calls_open_on_a_node_and_others_are_still_served()
    {
        // Each open call holds what it costs (a stream's etcd watch, a request in memory, a followed file): without a
        // limit of its own, one user could hold some 25,000 of them through the connection limits (256 of 100 streams).
        using var channel = DavesChannel();
        var client = new Lclusterd.LclusterdClient(channel);
        using var recasedChannel = DavesChannel(new RecasedContentType());
        var recased = new Lclusterd.LclusterdClient(recasedChannel);
        using var stop = new CancellationTokenSource();
        // One more than the limit: whichever comes last is refused, and the other calls hold every place.
        var watches = Enumerable.Range(0, PerUserCalls + 1).Select(_ => client.WatchJobs(new WatchJobsRequest(), cancellationToken: stop.Token)).ToList();
        try
        {
            string Ended(AsyncServerStreamingCall<JobEvent> w)
            {
                try
                {
                    return w.GetStatus().ToString();
                }
                catch (InvalidOperationException)
                {
                    return "open";
                }
            }
            string Watches() => string.Join(", ", watches.Select(Ended).CountBy(x => x).Select(g => $"{g.Value}× {g.Key}"));
            for (var deadline = DateTime.UtcNow.AddSeconds(20); watches.All(w => Ended(w) == "open") && DateTime.UtcNow < deadline;)
                await Task.Delay(100);
            var refusedWatch = watches.Where(w => Ended(w) != "open").Select(w => w.GetStatus()).FirstOrDefault();
            Assert.True(refusedWatch.StatusCode == StatusCode.ResourceExhausted, Watches());
            Assert.Contains($"has {PerUserCalls} calls open on this node", refusedWatch.Detail);
            Assert.True(watches.Count(w => Ended(w) == "open") == PerUserCalls, Watches());

            var refused = await Assert.ThrowsAsync<RpcException>(() => client.ListJobsAsync(new ListJobsRequest { PageSize = 1 }).ResponseAsync);
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            // gRPC takes its content type in any case, and so does the count.
            var recasedRefused = await Assert.ThrowsAsync<RpcException>(() => recased.ListJobsAsync(new ListJobsRequest { PageSize = 1 }).ResponseAsync);
            Assert.Equal(StatusCode.ResourceExhausted, recasedRefused.StatusCode);
            var alices = await As(Alice, "--listjobs");
            Assert.True(alices.ExitCode == 0, alices.ToString());
        }
        finally
        {
            stop.Cancel();
            foreach (var watch in watches)
                watch.Dispose();
        }
        // Dave's calls ended: his places are his again.
        for (var tries = 0; ; tries++)
        {
            try
            {
                await client.ListJobsAsync(new ListJobsRequest { PageSize = 1 });
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && tries < 100)
            {
                await Task.Delay(100);
            }
        }
        // The call in the other case was refused for the count alone: with places free it is served.
        Assert.NotNull(await recased.ListJobsAsync(new ListJobsRequest { PageSize = 1 }));
    }

    private const int PerUserCalls = daemon::Lcluster.Daemon.Hosting.CallLimits.PerUser;

    /// <summary>Sends a gRPC call's content type in another case, which gRPC servers take as the same.</summary>
    private sealed class RecasedContentType : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Content!.Headers.Remove("Content-Type");
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "Application/GRPC");
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task A_user_outside_the_socket_group_cannot_reach_the_node()
    {
        var outsider = await TestSupport.Cli.RunAsUserAsync(Alice, null, _daemon.Server, "--listjobs");
        Assert.True(outsider.ExitCode == 4, outsider.ToString());
        Assert.Contains("Permission denied", outsider.Stderr, StringComparison.OrdinalIgnoreCase);
        var socket = new FileInfo(_daemon.SocketPath);
        Assert.Equal((UnixFileMode)0x1B0, socket.UnixFileMode & (UnixFileMode)0x1FF); // 0660
    }

    [Fact]
    public async Task The_tcp_endpoint_takes_only_callers_with_a_certificate_of_the_cluster()
    {
        var ca = Path.Combine(_authority, "ca.crt");
        var plain = await TestSupport.Cli.RunAsync(_daemon.Address, "--listjobs");
        Assert.True(plain.ExitCode == 4, plain.ToString());
        // TLS that trusts the node but shows no certificate of its own: the node ends the connection unanswered.
        var anonymous = await RunAsAsync("root", "/usr/bin/python3", ["-c", $$"""
            import socket, ssl
            context = ssl.create_default_context(cafile="{{ca}}")
            context.check_hostname = False
            context.set_alpn_protocols(["h2"])
            with socket.create_connection(("{{_daemon.Address.Split(':')[0]}}", {{_daemon.Port}}), timeout=10) as raw:
                try:
                    with context.wrap_socket(raw) as tls:
                        tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                        print("answered" if tls.recv(1) else "closed")
                except (ssl.SSLError, ConnectionError) as e:
                    print("refused:", e)
            """]);
        Assert.True(anonymous.ExitCode == 0, anonymous.ToString());
        Assert.True(anonymous.Stdout.StartsWith("closed", StringComparison.Ordinal) || anonymous.Stdout.StartsWith("refused:", StringComparison.Ordinal), anonymous.ToString());

        // A certificate of another CA, however well made, is refused too.
        var stranger = CertificateTool.NewAuthority();
        try
        {
            CertificateTool.Run("ca", "user", "--name=mallory", $"--dir={stranger}", "--admin");
            var forged = await TestSupport.Cli.RunAsync(_daemon.Address, "--listjobs", $"--cacert={ca}",
                $"--cert={stranger}/users/mallory/user.crt", $"--key={stranger}/users/mallory/user.key");
            Assert.True(forged.ExitCode == 4, forged.ToString());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(stranger)!, recursive: true);
        }

        // The cluster's own user certificate works, and its jobs are recorded under its name.
        CertificateTool.Run("ca", "user", "--name=carol", $"--dir={_authority}");
        string[] carol = [$"--cacert={ca}", $"--cert={_authority}/users/carol/user.crt", $"--key={_authority}/users/carol/user.key"];
        var added = await TestSupport.Cli.RunAsync(_daemon.Address, ["--addjob=true", .. carol]);
        var id = IdOf(added);
        var job = await TestSupport.Cli.RunAsync(_daemon.Address, [$"--checkjob={id}", "--json", .. carol]);
        Assert.True(job.ExitCode == 0, job.ToString());
        Assert.Equal("carol", JsonDocument.Parse(job.Stdout).RootElement.GetProperty("owner").GetString());
        var nodes = await TestSupport.Cli.RunAsync(_daemon.Address, ["--listjobs", $"--owner={Alice}", .. carol]);
        Assert.Contains("only an admin may list another user's jobs", nodes.Stderr);

        // Another local user given carol's file names, but not her key (root's, 0600 as issued): a clear refusal, no trace.
        var thief = await TestSupport.Cli.RunAsUserAsync("nobody", null, _daemon.Address, ["--listjobs", .. carol]);
        Assert.True(thief.ExitCode == 1, thief.ToString());
        Assert.Contains("cannot read the certificate", thief.Stderr);
        Assert.DoesNotContain("   at ", thief.Stderr);
    }

    [Fact]
    public async Task A_local_user_cannot_read_or_write_the_embedded_etcd()
    {
        var etcdctl = Requires.Program("etcdctl");
        var endpoint = $"--endpoints=unix://{_daemon.EmbeddedEtcdSocket}";
        string[] timeouts = ["--dial-timeout=2s", "--command-timeout=3s"];
        // Root reaches it through its socket: that is the embedded etcd, holding the cluster's keys.
        var root = await RunAsAsync("root", etcdctl, [endpoint, .. timeouts, "get", "--prefix", "--keys-only", "/lcluster/live/member/"]);
        Assert.True(root.ExitCode == 0 && root.Stdout.Contains("/lcluster/live/member/", StringComparison.Ordinal), root.ToString());
        // Another user can neither read nor write through it: the socket is in the root-only data dir.
        foreach (var args in new[]
        {
            new[] { endpoint, "get", "--prefix", "/lcluster/" },
            new[] { endpoint, "put", "/lcluster/prime/x", "y" },
        })
        {
            var result = await RunAsAsync(Alice, etcdctl, [.. timeouts, .. args]);
            Assert.True(result.ExitCode != 0, $"etcdctl {string.Join(' ', args)} as {Alice}: {result}");
            Assert.DoesNotContain("/lcluster/", result.Stdout);
        }
        var list = await RunAsAsync(Alice, "/bin/ls", [_daemon.DataDir]);
        Assert.True(list.ExitCode != 0 && list.Stdout.Length == 0, list.ToString());
        // And it listens on no network port, loopback included, that a local user could dial instead.
        var etcdPid = File.ReadAllText(Path.Combine(_daemon.DataDir, "etcd.pid")).Trim();
        Assert.True(Directory.Exists($"/proc/{etcdPid}"), $"embedded etcd pid {etcdPid} is not running");
        var listening = await RunAsAsync("root", Requires.Program("ss"), ["-H", "-l", "-t", "-u", "-n", "-p"]);
        Assert.True(listening.ExitCode == 0, listening.ToString());
        Assert.DoesNotContain($"pid={etcdPid},", listening.Stdout);
    }

    [Fact]
    public async Task A_jobs_root_is_an_unprivileged_host_id_from_the_nodes_block()
    {
        var id = IdOf(await TestSupport.Cli.RunAsync(_daemon.Server, "--addjob=id -u; cat /proc/self/uid_map; touch /tmp/mine; stat -c %u /tmp/mine"));
        await FinishedAsync(_daemon.Server, id);
        var output = (await TestSupport.Cli.OkAsync(_daemon.Server, null, $"--output={id}")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("0", output[0]);
        var map = output[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        Assert.Equal(0, map[0]);
        Assert.InRange(map[1], _daemon.UserNamespaceFirstId, _daemon.UserNamespaceFirstId + (1L << 23));
        Assert.Equal(65536, map[2]);
        Assert.Equal("0", output[2]);
    }

    [Fact]
    public async Task A_time_limit_longer_than_a_timer_can_wait_at_once_holds_the_job_and_removing_it_frees_the_slot()
    {
        var id = IdOf(await TestSupport.Cli.RunAsync(_daemon.Server, "--addjob=sleep 600", "--time=1200h"));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement job;
        do
        {
            await Task.Delay(50);
            job = JsonDocument.Parse(await TestSupport.Cli.OkAsync(_daemon.Server, null, $"--checkjob={id}", "--json")).RootElement;
        }
        while (job.GetProperty("state").GetString() is "queued" or "scheduled" && DateTime.UtcNow < deadline);
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal(1200 * 3600.0, job.GetProperty("limits").GetProperty("time_seconds").GetDouble());
        Assert.True((await TestSupport.Cli.RunAsync(_daemon.Server, $"--removejob={id}")).ExitCode == 0);
        deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(50);
            job = JsonDocument.Parse(await TestSupport.Cli.OkAsync(_daemon.Server, null, $"--checkjob={id}", "--json")).RootElement;
        }
        while (job.GetProperty("state").GetString() == "running" && DateTime.UtcNow < deadline);
        Assert.Equal("cancelled", job.GetProperty("state").GetString());
        // Past the longest limit a job may ask for: refused at the edge.
        var tooLong = await TestSupport.Cli.RunAsync(_daemon.Server, "--addjob=true", "--time=366d");
        Assert.True(tooLong.ExitCode != 0, tooLong.ToString());
        Assert.Contains("365", tooLong.Stderr);
    }

    [Fact]
    public async Task A_job_writing_3_gb_to_its_root_gets_enospc_at_its_disk_limit_and_the_default_caps_it_too()
    {
        var id = IdOf(await TestSupport.Cli.RunAsync(_daemon.Server, "--disk=64M", "--memory=256M",
            "--addjob=dd if=/dev/zero of=/big bs=1M count=3000 2>&1; echo dd=$?; stat -c %s /big"));
        await FinishedAsync(_daemon.Server, id);
        var output = await TestSupport.Cli.OkAsync(_daemon.Server, null, $"--output={id}");
        Assert.Contains("No space left on device", output);
        Assert.Contains("dd=1", output);
        Assert.InRange(long.Parse(output.Trim().Split('\n')[^1]), 1L << 20, 64L << 20);

        // No --disk: the node's default cap, 256 MiB, is what the root filesystem offers.
        var sized = IdOf(await TestSupport.Cli.RunAsync(_daemon.Server, "--addjob=df -k / | tail -n 1"));
        await FinishedAsync(_daemon.Server, sized);
        var df = (await TestSupport.Cli.OkAsync(_daemon.Server, null, $"--output={sized}")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("262144", df[1]);
    }

    [Fact]
    public async Task A_daemon_binary_in_a_directory_only_root_may_enter_still_runs_jobs()
    {
        var closed = Directory.CreateTempSubdirectory("lcluster-closed-").FullName; // 0700
        var program = Path.Combine(closed, "lclusterd");
        File.Copy(RepoPaths.Bin("lclusterd"), program);
        try
        {
            await using var hidden = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "closed", Program = program, ExtraArgs = ["--slots=1"] });
            var id = IdOf(await TestSupport.Cli.RunAsync(hidden.Server, "--addjob=echo from a closed directory"));
            await FinishedAsync(hidden.Server, id);
            Assert.Equal("from a closed directory", (await TestSupport.Cli.OkAsync(hidden.Server, null, $"--output={id}")).Trim());
        }
        finally
        {
            Directory.Delete(closed, recursive: true);
        }
    }

    private static async Task FinishedAsync(string server, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement job;
        do
        {
            job = JsonDocument.Parse(await TestSupport.Cli.OkAsync(server, null, $"--checkjob={id}", "--json")).RootElement;
            if (job.GetProperty("state").GetString() is "succeeded")
                return;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline && job.GetProperty("state").GetString() is "queued" or "scheduled" or "running");
        Assert.Fail($"job {id} did not succeed: {job}");
    }

    private static async Task<CliResult> RunAsAsync(string user, string program, string[] args)
    {
        var info = new ProcessStartInfo(Requires.Program("setpriv"))
        {
            ArgumentList = { $"--reuid={user}", $"--regid={(user == "root" ? "root" : "nogroup")}", "--clear-groups", "--", program },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
