using Lcluster.V1;

namespace Lcluster.Rpc.Tests.Interop;

/// <summary>Python's grpcio, a gRPC implementation we did not write, calling a server built on src/Rpc.</summary>
public sealed class GrpcioInteropTests(PythonClient python) : IClassFixture<PythonClient>, IAsyncLifetime
{
    private LclusterdTestServer _server = null!;

    public async Task InitializeAsync() => _server = await LclusterdTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Unary_AddJob_RequestAndResponseArriveIntact()
    {
        var answer = await python.CallAsync(_server.Address, "unary");

        Assert.Equal("0b5e3c1e-5d5e-4d0b-9a43-2f1c8d6e7a10", answer.GetProperty("id").GetString());
        var request = Assert.Single(_server.Added);
        Assert.Equal("echo 'héllo' && exit 3", request.Command);
        Assert.Equal("ジョブ ✓", request.Name);
        Assert.Equal(new Dictionary<string, string> { ["LANG"] = "C.UTF-8", ["K"] = "v=1" }, request.Env);
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), request.Stdin.ToByteArray());
        Assert.Equal(new Limits { MemoryBytes = 64 << 20, Cpus = 0.5 }, request.Limits);
        Assert.Equal((2, -7), (request.Retries, request.Priority));
    }

    [Fact]
    public async Task ServerStream_GetOutput_EveryChunkInOrderThenOk()
    {
        var answer = await python.CallAsync(_server.Address, "stream");

        var chunks = answer.GetProperty("chunks").EnumerateArray().Select(c => Convert.FromHexString(c.GetString()!)).ToList();
        Assert.Equal(LclusterdTestServer.OutputChunks.Length, chunks.Count);
        for (var i = 0; i < chunks.Count; i++)
            Assert.True(LclusterdTestServer.OutputChunks[i].AsSpan().SequenceEqual(chunks[i]), $"chunk {i} differs");
    }

    [Fact]
    public async Task Error_CheckJob_CodeAndNonAsciiMessageArriveIntact()
    {
        var answer = await python.CallAsync(_server.Address, "error");

        Assert.Equal("NOT_FOUND", answer.GetProperty("code").GetString());
        Assert.Equal(LclusterdTestServer.NotFoundMessage, answer.GetProperty("details").GetString());
    }

    [Fact]
    public async Task Deadline_SetByThePythonClient_CancelsTheHandler()
    {
        var answer = await python.CallAsync(_server.Address, "deadline");

        Assert.Equal("DEADLINE_EXCEEDED", answer.GetProperty("code").GetString());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_server.Cancelled.IsEmpty && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        var seen = Assert.Single(_server.Cancelled);
        Assert.Matches(@"^ListJobs deadline=-?0\.\d$", seen);
        Assert.Empty(_server.Log);
    }
}
