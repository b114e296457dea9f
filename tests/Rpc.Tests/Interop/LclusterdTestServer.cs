using System.Collections.Concurrent;
using Google.Protobuf;
using Lcluster.Rpc.Tests.Support;
using Lcluster.V1;

namespace Lcluster.Rpc.Tests.Interop;

/// <summary>lcluster.v1.Lclusterd with canned answers, recording what it was sent, for grpcio to call.</summary>
internal sealed class LclusterdTestServer : IAsyncDisposable
{
    public const string NotFoundMessage = "job «nope» not found — ジョブ 100% gone";

    public static readonly byte[][] OutputChunks =
    [
        "first line\n"u8.ToArray(),
        [],
        Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray(),
        [0x00, 0xff, 0x0a],
    ];

    private readonly TestServer _server;

    private LclusterdTestServer(TestServer server, ConcurrentQueue<AddJobRequest> added, ConcurrentQueue<string> cancelled)
    {
        _server = server;
        Added = added;
        Cancelled = cancelled;
    }

    public string Address => _server.Address;
    public ConcurrentQueue<AddJobRequest> Added { get; }

    /// <summary>"ListJobs deadline=...": handlers whose token fired, with the deadline they were given.</summary>
    public ConcurrentQueue<string> Cancelled { get; }

    public IReadOnlyCollection<string> Log => _server.Log;

    public static async Task<LclusterdTestServer> StartAsync()
    {
        var added = new ConcurrentQueue<AddJobRequest>();
        var cancelled = new ConcurrentQueue<string>();
        var service = new GrpcService("lcluster.v1.Lclusterd")
            .Unary<AddJobRequest, AddJobResponse>("AddJob", AddJobRequest.Parser, (request, _) =>
            {
                added.Enqueue(request);
                return Task.FromResult(new AddJobResponse { Id = "0b5e3c1e-5d5e-4d0b-9a43-2f1c8d6e7a10" });
            })
            .Unary<CheckJobRequest, Job>("CheckJob", CheckJobRequest.Parser, (request, _) =>
                throw new RpcException(StatusCode.NotFound, $"job «{request.Id}» not found — ジョブ 100% gone"))
            .ServerStreaming<GetOutputRequest, OutputChunk>("GetOutput", GetOutputRequest.Parser, async (request, writer, context) =>
            {
                if (request.Stream != OutputStream.Stderr || !request.Follow)
                    throw new RpcException(StatusCode.InvalidArgument, $"unexpected request {request}");
                foreach (var chunk in OutputChunks)
                    await writer.WriteAsync(new OutputChunk { Data = ByteString.CopyFrom(chunk) }, context.CancellationToken);
            })
            .Unary<ListJobsRequest, ListJobsResponse>("ListJobs", ListJobsRequest.Parser, async (_, context) =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                finally
                {
                    cancelled.Enqueue($"ListJobs deadline={(context.Deadline is { } d ? (d - DateTimeOffset.UtcNow).TotalSeconds.ToString("0.0") : "none")}");
                }
                return new ListJobsResponse();
            });
        return new LclusterdTestServer(await TestServer.StartAsync(service), added, cancelled);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
