using Grpc.Core;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>
/// How an AddJob names its inputs (docs/files.md): the upload must be on this node and the caller's;
/// its new jobs are written into the upload's record before they go to etcd, so the upload is kept
/// while any of them may still run.
/// </summary>
internal static class JobInputs
{
    public static InputSet Find(NodeContext node, string upload, Caller caller)
    {
        var record = node.Files.Inputs.Read(upload)
            ?? throw Statuses.FailedPrecondition($"no inputs {upload} on node {node.Name}: upload them (UploadInputs) to the node you add the job through, then add it within a few minutes; lclusterc --input does both");
        if (record.Owner != caller.User)
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"inputs {upload} were uploaded by another user: a job may use only its owner's uploads"));
        return new InputSet { Node = node.Name, Upload = upload, ContentBytes = record.ContentBytes, Files = record.Files };
    }

    public static void Claim(NodeContext node, InputSet inputs, IEnumerable<NewJob> jobs)
    {
        if (!node.Files.Inputs.Claim(inputs.Upload, jobs.Select(j => j.Record.Job.Id)))
            throw Statuses.FailedPrecondition($"inputs {inputs.Upload} were deleted from node {node.Name} meanwhile: upload them again");
    }
}
