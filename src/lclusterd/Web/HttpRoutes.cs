using Google.Protobuf.Reflection;
using Lcluster.V1;

namespace Lcluster.Daemon.Web;

/// <summary>A query parameter of a route: its name, JSON Schema type ("string", "integer", "boolean"), allowed values, and meaning.</summary>
internal sealed record QueryParameter(string Name, string Type, string Description, IReadOnlyList<string>? Values = null);

/// <summary>
/// One HTTP route: method and path, the rpc of protos/lcluster.proto it reaches (null for the HTTP-only ones),
/// its query, body and answer. The daemon maps exactly these (<see cref="HttpApi"/>) and /v1/openapi.json
/// describes exactly these (<see cref="OpenApiDocument"/>), so the two cannot drift apart.
/// </summary>
internal sealed record HttpRoute(string Method, string Path, string Operation, string Summary)
{
    public string? Rpc { get; init; }
    public IReadOnlyList<QueryParameter> Query { get; init; } = [];
    /// <summary>The JSON message the body holds: looked up when asked for (a descriptor is built on first use, and mapping needs none).</summary>
    public Func<MessageDescriptor>? BodyType { get; init; }
    /// <summary>The JSON message answered, when the answer is one.</summary>
    public Func<MessageDescriptor>? AnswerType { get; init; }
    public MessageDescriptor? Body => BodyType?.Invoke();
    public MessageDescriptor? Answer => AnswerType?.Invoke();
    /// <summary>The media type of a body that is not one JSON message (a tar archive).</summary>
    public string? BodyMediaType { get; init; }
    /// <summary>The media type answered when it is not one JSON message: a byte stream, server-sent events, text.</summary>
    public string? AnswerMediaType { get; init; }
    /// <summary>Served to anyone, signed in or not (the dashboard's own files, the API's description).</summary>
    public bool Public { get; init; }
}

internal static class HttpRoutes
{
    private const string Tar = "application/x-tar";
    private static readonly IReadOnlyList<string> StateNames = [.. Shared.JobStates.All.Select(Shared.JobStates.Name)];

    public static readonly HttpRoute AddJob = new("POST", "/v1/jobs", "AddJob", "Queue a job (or an array of jobs)")
    {
        Rpc = "AddJob", BodyType = () => AddJobRequest.Descriptor, AnswerType = () => AddJobResponse.Descriptor,
    };

    public static readonly HttpRoute ListJobs = new("GET", "/v1/jobs", "ListJobs", "Jobs, newest submission first, a page at a time")
    {
        Rpc = "ListJobs", AnswerType = () => ListJobsResponse.Descriptor,
        Query =
        [
            new("state", "string", "only jobs in this state (queued, running, ..., or JOB_STATE_QUEUED, ...)", StateNames),
            new("owner", "string", "only jobs of this user (a user who is not an admin sees only their own)"),
            new("name", "string", "only jobs with exactly this name"),
            new("page_size", "integer", "at most this many jobs (0 or absent: 100; at most 1000)"),
            new("page_token", "string", "next_page_token of the previous page, with the same filters"),
        ],
    };

    public static readonly HttpRoute CheckJob = new("GET", "/v1/jobs/{id}", "CheckJob", "The job's record")
    {
        Rpc = "CheckJob", AnswerType = () => Job.Descriptor,
    };

    public static readonly HttpRoute RemoveJob = new("DELETE", "/v1/jobs/{id}", "RemoveJob", "Cancel a queued or running job; delete a finished one")
    {
        Rpc = "RemoveJob", AnswerType = () => RemoveJobResponse.Descriptor,
    };

    public static readonly HttpRoute GetOutput = new("GET", "/v1/jobs/{id}/output", "GetOutput", "The job's stdout or stderr, as raw bytes")
    {
        Rpc = "GetOutput", AnswerMediaType = "application/octet-stream",
        Query =
        [
            new("stream", "string", "which stream (absent: stdout)", ["stdout", "stderr"]),
            new("follow", "boolean", "keep the response open and send new output until the job ends"),
        ],
    };

    public static readonly HttpRoute ListNodes = new("GET", "/v1/nodes", "ListNodes", "The live nodes of the cluster")
    {
        Rpc = "ListNodes", AnswerType = () => ListNodesResponse.Descriptor,
    };

    public static readonly HttpRoute WatchJobs = new("GET", "/v1/events", "WatchJobs",
        "Every change of the jobs the caller may see, as server-sent events (id: revision/job id; event: job; data: a JobEvent)")
    {
        Rpc = "WatchJobs", AnswerMediaType = "text/event-stream",
        Query =
        [
            new("start_revision", "integer", "the first revision to report (absent: changes from now on); the Last-Event-ID header, when sent, resumes after it instead"),
            new("after_id", "string", "with start_revision: leave out that revision's changes up to and including this job's"),
            new("id", "string", "only this job"),
            new("owner", "string", "only jobs of this user"),
        ],
    };

    public static readonly HttpRoute CreateDashboardToken = new("POST", "/v1/dashboard/tokens", "CreateDashboardToken",
        "A short-lived token for the dashboard, naming the caller, and the URL that opens the dashboard with it")
    {
        Rpc = "CreateDashboardToken", BodyType = () => CreateDashboardTokenRequest.Descriptor, AnswerType = () => DashboardToken.Descriptor,
    };

    public static readonly HttpRoute StartDashboardSession = new("POST", "/v1/dashboard/session", "StartDashboardSession",
        "A session's token for a dashboard link's (Authorization: Bearer LINK-TOKEN), given once; the link's token signs nothing else in")
    {
        AnswerType = () => DashboardToken.Descriptor, Public = true,
    };

    public static readonly HttpRoute UploadInputs = new("POST", "/v1/inputs", "UploadInputs",
        "Store a job's inputs on this node: the body is one tar archive (directories and regular files, relative names); name the answered id in AddJob's inputs, through this same node")
    {
        Rpc = "UploadInputs", BodyMediaType = Tar, AnswerType = () => UploadInputsResponse.Descriptor,
    };

    public static readonly HttpRoute GetInputs = new("GET", "/v1/jobs/{id}/inputs", "GetInputs", "The job's inputs, as one tar archive, from the node they were uploaded to")
    {
        Rpc = "GetInputs", AnswerMediaType = Tar,
    };

    public static readonly HttpRoute GetArtifacts = new("GET", "/v1/jobs/{id}/artifacts", "GetArtifacts",
        "The files a finished job left (its artifacts), as one tar archive, through any node")
    {
        Rpc = "GetArtifacts", AnswerMediaType = Tar,
    };

    public static readonly HttpRoute OpenApi = new("GET", "/v1/openapi.json", "OpenApi", "This description of the HTTP API (OpenAPI 3.1)")
    {
        AnswerMediaType = "application/json", Public = true,
    };

    public static readonly HttpRoute Metrics = new("GET", "/metrics", "Metrics", "The node's metrics, in Prometheus text format")
    {
        AnswerMediaType = "text/plain",
    };

    public static readonly IReadOnlyList<HttpRoute> All =
        [AddJob, ListJobs, CheckJob, RemoveJob, GetOutput, ListNodes, WatchJobs, CreateDashboardToken, StartDashboardSession, UploadInputs, GetInputs, GetArtifacts, OpenApi, Metrics];
}
