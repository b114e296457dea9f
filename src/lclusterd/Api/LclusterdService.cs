using Lcluster.Rpc;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>The lcluster.v1.Lclusterd service (protos/lcluster.proto) on src/Rpc.</summary>
internal static class LclusterdService
{
    public static GrpcService Define(JobsApi jobs, OutputApi output) =>
        new GrpcService("lcluster.v1.Lclusterd")
            .Unary<AddJobRequest, AddJobResponse>("AddJob", AddJobRequest.Parser, jobs.AddJobAsync)
            .Unary<CheckJobRequest, Job>("CheckJob", CheckJobRequest.Parser, jobs.CheckJobAsync)
            .Unary<RemoveJobRequest, RemoveJobResponse>("RemoveJob", RemoveJobRequest.Parser, jobs.RemoveJobAsync)
            .Unary<ListJobsRequest, ListJobsResponse>("ListJobs", ListJobsRequest.Parser, jobs.ListJobsAsync)
            .ServerStreaming<GetOutputRequest, OutputChunk>("GetOutput", GetOutputRequest.Parser, output.GetOutputAsync)
            .Unary<ListNodesRequest, ListNodesResponse>("ListNodes", ListNodesRequest.Parser, jobs.ListNodesAsync);
}
