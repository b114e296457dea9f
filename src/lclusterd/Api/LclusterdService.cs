using Grpc.Core;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>The lcluster.v1.Lclusterd service (protos/lcluster.proto): each rpc handed to the part of the API that owns it.</summary>
internal sealed class LclusterdService(JobsApi jobs, ListingApi listing, OutputApi output, Web.DashboardApi dashboard) : Lclusterd.LclusterdBase
{
    public override Task<AddJobResponse> AddJob(AddJobRequest request, ServerCallContext context) => jobs.AddJobAsync(request, context);

    public override Task<Job> CheckJob(CheckJobRequest request, ServerCallContext context) => jobs.CheckJobAsync(request, context);

    public override Task<RemoveJobResponse> RemoveJob(RemoveJobRequest request, ServerCallContext context) => jobs.RemoveJobAsync(request, context);

    public override Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context) => listing.ListJobsAsync(request, context);

    public override Task WatchJobs(WatchJobsRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context) =>
        listing.WatchJobsAsync(request, responseStream, context);

    public override Task GetOutput(GetOutputRequest request, IServerStreamWriter<OutputChunk> responseStream, ServerCallContext context) =>
        output.GetOutputAsync(request, responseStream, context);

    public override Task<ListNodesResponse> ListNodes(ListNodesRequest request, ServerCallContext context) => listing.ListNodesAsync(request, context);

    public override Task<DashboardToken> CreateDashboardToken(CreateDashboardTokenRequest request, ServerCallContext context) =>
        dashboard.CreateTokenAsync(request, context);
}
