using Grpc.Core;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>The lcluster.v1.Lclusterd service (protos/lcluster.proto): each rpc handed to the part of the API that owns it.</summary>
internal sealed class LclusterdService(ApiMethods api, Web.DashboardApi dashboard) : Lclusterd.LclusterdBase
{
    public override Task<AddJobResponse> AddJob(AddJobRequest request, ServerCallContext context) => api.Jobs.AddJobAsync(request, context);

    public override Task<Job> CheckJob(CheckJobRequest request, ServerCallContext context) => api.Jobs.CheckJobAsync(request, context);

    public override Task<RemoveJobResponse> RemoveJob(RemoveJobRequest request, ServerCallContext context) => api.Jobs.RemoveJobAsync(request, context);

    public override Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context) => api.Listing.ListJobsAsync(request, context);

    public override Task WatchJobs(WatchJobsRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context) =>
        api.Listing.WatchJobsAsync(request, responseStream, context);

    public override Task GetOutput(GetOutputRequest request, IServerStreamWriter<OutputChunk> responseStream, ServerCallContext context) =>
        api.Output.GetOutputAsync(request, responseStream, context);

    public override Task<ListNodesResponse> ListNodes(ListNodesRequest request, ServerCallContext context) => api.Listing.ListNodesAsync(request, context);

    public override Task<DashboardToken> CreateDashboardToken(CreateDashboardTokenRequest request, ServerCallContext context) =>
        dashboard.CreateTokenAsync(request, context);

    public override Task<UploadInputsResponse> UploadInputs(IAsyncStreamReader<FileChunk> requestStream, ServerCallContext context) =>
        api.Inputs.UploadAsync(requestStream, context);

    public override Task GetInputs(GetInputsRequest request, IServerStreamWriter<FileChunk> responseStream, ServerCallContext context) =>
        api.Inputs.GetInputsAsync(request, responseStream, context);

    public override Task GetArtifacts(GetArtifactsRequest request, IServerStreamWriter<FileChunk> responseStream, ServerCallContext context) =>
        api.Artifacts.GetArtifactsAsync(request, responseStream, context);
}
