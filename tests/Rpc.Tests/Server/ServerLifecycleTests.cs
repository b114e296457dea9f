using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Server;

/// <summary>Starting, stopping, TLS, concurrency, and a port fed garbage.</summary>
public sealed class ServerLifecycleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GarbageBytesOnThePort_DoNotStopTheServerNorReachTheLog()
    {
        await using var server = await TestServer.StartAsync(EchoService.Create());
        var garbage = new byte[64 * 1024];
        new Random(7).NextBytes(garbage);

        foreach (var bytes in new[] { garbage, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"u8.ToArray() })
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(server.Server.BoundEndpoint);
            await socket.SendAsync(bytes, SocketFlags.None);
            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            while (await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Bound) > 0)
            {
            }
        }

        var reply = await server.Channel.UnaryAsync("/rpctest.Echo/Unary", new EchoRequest { Text = "still here" }, EchoReply.Parser);
        Assert.Equal("still here", reply.Text);
        Assert.Empty(server.Log);
    }

    [Fact]
    public async Task ManyConcurrentCallsOfEveryKind_AllSucceed()
    {
        await using var server = await TestServer.StartAsync(EchoService.Create());

        var calls = Enumerable.Range(0, 200).Select(async i =>
        {
            switch (i % 3)
            {
                case 0:
                    return (await server.Channel.UnaryAsync("/rpctest.Echo/Unary", new EchoRequest { Text = $"{i}" }, EchoReply.Parser)).Text;
                case 1:
                    await using (var stream = server.Channel.ServerStreaming("/rpctest.Echo/Repeat", new EchoRequest { Text = $"{i}", Count = 3 }, EchoReply.Parser))
                    {
                        var texts = new List<string>();
                        while (await stream.ResponseStream.MoveNextAsync())
                            texts.Add(stream.ResponseStream.Current.Text);
                        return texts.Count == 3 ? texts[0] : $"{texts.Count} replies";
                    }
                default:
                    await using (var chat = server.Channel.DuplexStreaming<EchoRequest, EchoReply>("/rpctest.Echo/Chat", EchoReply.Parser))
                    {
                        await chat.WriteAsync(new EchoRequest { Text = $"{i}" });
                        await chat.CompleteAsync();
                        Assert.True(await chat.ResponseStream.MoveNextAsync());
                        var text = chat.ResponseStream.Current.Text;
                        Assert.False(await chat.ResponseStream.MoveNextAsync());
                        return text;
                    }
            }
        });

        var results = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"{i}"), results);
    }

    [Fact]
    public async Task HandlerSeesThePeerAndTheMethod()
    {
        var seen = new TaskCompletionSource<(string Peer, string Method, DateTimeOffset? Deadline)>();
        await using var server = await TestServer.StartAsync(new GrpcService("rpctest.Who")
            .Unary<EchoRequest, EchoReply>("Am", EchoRequest.Parser, (_, context) =>
            {
                seen.TrySetResult((context.Peer, context.Method, context.Deadline));
                return Task.FromResult(new EchoReply());
            }));

        await server.Channel.UnaryAsync("/rpctest.Who/Am", new EchoRequest(), EchoReply.Parser);
        var (peer, method, deadline) = await seen.Task.WaitAsync(Bound);

        Assert.Matches(@"^ipv4:127\.0\.0\.1:\d+$", peer);
        Assert.Equal("/rpctest.Who/Am", method);
        Assert.Null(deadline);
    }

    [Fact]
    public async Task StopWithATokenThatFires_CancelsAnOpenStream_ThenNewCallsAreRefused()
    {
        var handlerCancelled = new TaskCompletionSource();
        await using var server = await TestServer.StartAsync(new GrpcService("rpctest.Long")
            .ServerStreaming<EchoRequest, EchoReply>("Watch", EchoRequest.Parser, async (_, writer, context) =>
            {
                await writer.WriteAsync(new EchoReply { Text = "started" });
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                finally
                {
                    handlerCancelled.TrySetResult();
                }
            }));
        var address = server.Address;
        await using var call = server.Channel.ServerStreaming("/rpctest.Long/Watch", new EchoRequest(), EchoReply.Parser);
        Assert.True(await call.ResponseStream.MoveNextAsync());

        using var grace = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await server.Server.StopAsync(grace.Token).WaitAsync(Bound);

        await handlerCancelled.Task.WaitAsync(Bound);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNextAsync().WaitAsync(Bound));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        using var fresh = GrpcChannel.ForAddress(address);
        var refused = await Assert.ThrowsAsync<RpcException>(() => fresh.UnaryAsync("/rpctest.Long/Watch", new EchoRequest(), EchoReply.Parser));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
    }

    [Fact]
    public async Task PortAlreadyInUse_StartFailsNamingTheEndpoint()
    {
        await using var first = await TestServer.StartAsync(EchoService.Create());
        await using var second = new GrpcServer(new GrpcServerOptions { Endpoint = first.Server.BoundEndpoint }, EchoService.Create());

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync());

        Assert.Contains($"cannot listen for gRPC on {first.Server.BoundEndpoint}", ex.Message);
    }

    [Fact]
    public void TwoServicesDefiningTheSameMethod_Refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GrpcServer(
            new GrpcServerOptions { Endpoint = new IPEndPoint(IPAddress.Loopback, 0) }, EchoService.Create(), EchoService.Create()));
        Assert.Contains("/rpctest.Echo/Unary", ex.Message);
    }

    [Fact]
    public async Task Tls_CallSucceedsWhenTheClientTrustsTheCertificate_UnavailableWhenItDoesNot()
    {
        using var certificate = SelfSigned();
        var trusting = new GrpcChannelOptions
        {
            ServerCertificateValidation = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.GetCertHashString(),
        };
        await using var server = await TestServer.StartAsync(certificate, trusting, EchoService.Create());

        var reply = await server.Channel.UnaryAsync("/rpctest.Echo/Unary", new EchoRequest { Text = "over tls" }, EchoReply.Parser);
        using var distrusting = GrpcChannel.ForAddress($"https://127.0.0.1:{server.Server.BoundEndpoint.Port}");
        var ex = await Assert.ThrowsAsync<RpcException>(() => distrusting.UnaryAsync("/rpctest.Echo/Unary", new EchoRequest(), EchoReply.Parser));

        Assert.Equal("over tls", reply.Text);
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("TLS", ex.Detail);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
