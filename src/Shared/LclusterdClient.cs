using Lcluster.Rpc;
using Lcluster.V1;

namespace Lcluster.Shared;

/// <summary>
/// A typed client of the lcluster.v1.Lclusterd service (protos/lcluster.proto)
/// on top of src/Rpc: one method per rpc.
/// </summary>
internal sealed class LclusterdClient(GrpcChannel channel)
{
    private const string Service = "/lcluster.v1.Lclusterd/";

    public Task<AddJobResponse> AddJobAsync(AddJobRequest request, CallOptions options = default) =>
        channel.UnaryAsync(Service + "AddJob", request, AddJobResponse.Parser, options);

    public Task<Job> CheckJobAsync(string id, CallOptions options = default) =>
        channel.UnaryAsync(Service + "CheckJob", new CheckJobRequest { Id = id }, Job.Parser, options);

    public Task<RemoveJobResponse> RemoveJobAsync(string id, CallOptions options = default) =>
        channel.UnaryAsync(Service + "RemoveJob", new RemoveJobRequest { Id = id }, RemoveJobResponse.Parser, options);

    public Task<ListJobsResponse> ListJobsAsync(ListJobsRequest request, CallOptions options = default) =>
        channel.UnaryAsync(Service + "ListJobs", request, ListJobsResponse.Parser, options);

    public ServerStreamingCall<OutputChunk> GetOutput(GetOutputRequest request, CallOptions options = default) =>
        channel.ServerStreaming(Service + "GetOutput", request, OutputChunk.Parser, options);

    public Task<ListNodesResponse> ListNodesAsync(CallOptions options = default) =>
        channel.UnaryAsync(Service + "ListNodes", new ListNodesRequest(), ListNodesResponse.Parser, options);
}
