using System.Text;
using System.Text.RegularExpressions;
using Lcluster.Daemon.Store;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>A validated AddJob request with the node's defaults filled in.</summary>
internal sealed record JobRequest(
    string Command, string Name, IReadOnlyDictionary<string, string> Env, byte[] Stdin,
    JobLimits Limits, int Retries, int Priority, ArrayRange? Array, string? RequestId)
{
    /// <summary>The upload AddJobRequest.inputs names (docs/files.md); null: no inputs.</summary>
    public string? InputsId { get; init; }

    /// <summary>The upload once found on this node: what the jobs' specs record.</summary>
    public InputSet? Inputs { get; init; }

    /// <summary>Artifact paths and patterns, each in its one spelling.</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
}

/// <summary>The limits a node applies: defaults for what a job leaves unset, and the most it accepts.</summary>
internal sealed record LimitPolicy(JobLimits Defaults, JobLimits Maximum);

/// <summary>
/// Validation of every client request at the edge (docs/spec.md §4): each failure is
/// one message a person understands, naming the field and the bound.
/// </summary>
internal static partial class RequestRules
{
    public const int MaxCommandBytes = 64 * 1024;
    public const int MaxNameBytes = 256;
    public const int MaxStdinBytes = RequestBounds.MaxStdinBytes;
    public const int MaxEnvEntries = 64;
    public const int MaxEnvKeyBytes = 256;
    public const int MaxEnvValueBytes = 4096;
    public const int MaxRetries = RequestBounds.MaxRetries;
    public const int MaxPriority = RequestBounds.MaxPriority;
    public const long MinMemoryBytes = 4L << 20;
    public const long MinDiskBytes = 1L << 20;
    /// <summary>The largest disk limit: a pebibyte, so that a job's /work (its inputs plus the limit) is a size a node can compute.</summary>
    public const long MaxDiskBytes = 1L << 50;
    /// <summary>The longest time limit: a year, far inside what timers can wait for.</summary>
    public const double MaxTimeSeconds = 365 * 24 * 3600;
    public const int MaxArrayTasks = RequestBounds.MaxArrayTasks;
    public const int MaxRequestIdLength = 64;

    /// <summary>Reserved variables the daemon sets itself.</summary>
    public static readonly IReadOnlySet<string> ReservedEnv = new HashSet<string>(StringComparer.Ordinal)
    {
        Runtime.SandboxSpec.JobIdVariable, Node.JobRunner.ArrayIndexVariable,
    };

    public static JobRequest ValidateAddJob(AddJobRequest request, LimitPolicy policy)
    {
        var command = request.Command;
        if (string.IsNullOrWhiteSpace(command))
            throw Invalid("command is empty: give the shell command to run, e.g. --addjob='echo hello'");
        CheckText("command", command, MaxCommandBytes);
        CheckText("name", request.Name, MaxNameBytes);
        if (request.Name.Any(char.IsControl))
            throw Invalid("name contains a control character");
        if (request.Stdin.Length > MaxStdinBytes)
            throw Invalid($"stdin is {Units.FormatBytes(request.Stdin.Length)}, over the limit of {Units.FormatBytes(MaxStdinBytes)}");
        if (request.Env.Count > MaxEnvEntries)
            throw Invalid($"{request.Env.Count} environment variables, over the limit of {MaxEnvEntries}");
        foreach (var (key, value) in request.Env)
        {
            if (!EnvName().IsMatch(key))
                throw Invalid($"environment variable name '{Printable(key)}' is not valid: use letters, digits and _, not starting with a digit");
            CheckText($"environment variable {key}", key, MaxEnvKeyBytes);
            CheckText($"environment variable {key}", value, MaxEnvValueBytes);
            if (ReservedEnv.Contains(key))
                throw Invalid($"environment variable {key} is set by lclusterd and cannot be given");
        }
        if (request.Retries is < 0 or > MaxRetries)
            throw Invalid($"retries is {request.Retries}: it must be between 0 and {MaxRetries}");
        if (request.Priority is < -MaxPriority or > MaxPriority)
            throw Invalid($"priority is {request.Priority}: it must be between {-MaxPriority} and {MaxPriority}");
        var limits = ValidateLimits(JobLimits.From(request.Limits), policy);
        if (request.Array is { } array && (array.First < 0 || array.Last < array.First || (long)array.Last - array.First + 1 > MaxArrayTasks))
            throw Invalid($"array {array.First}-{array.Last} is not a range of at most {MaxArrayTasks} indexes from 0 up, like 1-100");
        if (request.RequestId.Length > MaxRequestIdLength || request.RequestId.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_'))
            throw Invalid($"request_id '{Printable(request.RequestId)}' is not a request id: at most {MaxRequestIdLength} letters, digits, '-' and '_' (a UUID does)");
        if (request.Inputs.Length > 0 && !Node.InputStore.IsId(request.Inputs))
            throw Invalid($"inputs '{Printable(request.Inputs)}' is not an upload id: give the id UploadInputs answered (32 hex digits)");
        var artifacts = FilePaths.CheckPatterns(request.Artifacts, Invalid);
        return new JobRequest(command, request.Name, new Dictionary<string, string>(request.Env), request.Stdin.ToByteArray(),
            limits, request.Retries, request.Priority, request.Array, request.RequestId.Length > 0 ? request.RequestId : null)
        {
            InputsId = request.Inputs.Length > 0 ? request.Inputs : null,
            Artifacts = artifacts,
        };
    }

    public static JobLimits ValidateLimits(JobLimits asked, LimitPolicy policy)
    {
        var max = policy.Maximum;
        if (asked.MemoryBytes < 0)
            throw Invalid($"memory limit is negative ({asked.MemoryBytes} bytes)");
        if (asked.MemoryBytes > 0 && asked.MemoryBytes < MinMemoryBytes)
            throw Invalid($"memory limit {Units.FormatBytes(asked.MemoryBytes)} is below the minimum of {Units.FormatBytes(MinMemoryBytes)}");
        if (max.MemoryBytes > 0 && asked.MemoryBytes > max.MemoryBytes)
            throw Invalid($"memory limit {Units.FormatBytes(asked.MemoryBytes)} is over this node's maximum of {Units.FormatBytes(max.MemoryBytes)}");
        if (double.IsNaN(asked.Cpus) || double.IsInfinity(asked.Cpus) || asked.Cpus < 0)
            throw Invalid($"cpus must be a positive number, not {asked.Cpus}");
        if (asked.Cpus > 0 && asked.Cpus < 0.01)
            throw Invalid($"cpus {asked.Cpus} is below the minimum of 0.01");
        if (max.Cpus > 0 && asked.Cpus > max.Cpus)
            throw Invalid($"cpus {asked.Cpus} is over this node's maximum of {max.Cpus}");
        if (asked.Pids < 0)
            throw Invalid($"pids limit is negative ({asked.Pids})");
        if (max.Pids > 0 && asked.Pids > max.Pids)
            throw Invalid($"pids limit {asked.Pids} is over this node's maximum of {max.Pids}");
        if (double.IsNaN(asked.TimeSeconds) || double.IsInfinity(asked.TimeSeconds) || asked.TimeSeconds < 0)
            throw Invalid($"time limit must be a positive number of seconds, not {asked.TimeSeconds}");
        if (asked.TimeSeconds > MaxTimeSeconds)
            throw Invalid($"time limit {Units.FormatSeconds(asked.TimeSeconds)} is over the longest lcluster supports, {Units.FormatSeconds(MaxTimeSeconds)}");
        if (max.TimeSeconds > 0 && asked.TimeSeconds > max.TimeSeconds)
            throw Invalid($"time limit {Units.FormatSeconds(asked.TimeSeconds)} is over this node's maximum of {Units.FormatSeconds(max.TimeSeconds)}");
        if (asked.DiskBytes < 0)
            throw Invalid($"disk limit is negative ({asked.DiskBytes} bytes)");
        if (asked.DiskBytes > 0 && asked.DiskBytes < MinDiskBytes)
            throw Invalid($"disk limit {Units.FormatBytes(asked.DiskBytes)} is below the minimum of {Units.FormatBytes(MinDiskBytes)}");
        if (asked.DiskBytes > MaxDiskBytes)
            throw Invalid($"disk limit {Units.FormatBytes(asked.DiskBytes)} is over the largest lcluster supports, {Units.FormatBytes(MaxDiskBytes)}");
        if (max.DiskBytes > 0 && asked.DiskBytes > max.DiskBytes)
            throw Invalid($"disk limit {Units.FormatBytes(asked.DiskBytes)} is over this node's maximum of {Units.FormatBytes(max.DiskBytes)}");
        return asked.Or(policy.Defaults);
    }

    /// <summary>The canonical (lower-case, hyphenated) form of a job id, or INVALID_ARGUMENT.</summary>
    public static string JobId(string id)
    {
        if (string.IsNullOrEmpty(id))
            throw Invalid("job id is empty: give the UUID that --addjob printed");
        if (id.Length > 64 || !Guid.TryParseExact(id, "D", out var guid))
            throw Invalid($"'{Printable(id)}' is not a job id: job ids are UUIDs like 3f2b8c1e-7d4a-4e2b-9c1d-0a1b2c3d4e5f");
        return guid.ToString("D");
    }

    /// <summary>
    /// A listing's or watch's name or owner filter: text a job's name or owner can be (no NUL or control character,
    /// at most <see cref="MaxNameBytes"/>); "" for none.
    /// </summary>
    public static string Filter(string what, string text)
    {
        CheckText(what, text, MaxNameBytes);
        if (text.Any(char.IsControl))
            throw Invalid($"{what} contains a control character");
        return text;
    }

    private static void CheckText(string what, string text, int maxBytes)
    {
        if (text.Contains('\0'))
            throw Invalid($"{what} contains a NUL byte");
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > maxBytes)
            throw Invalid($"{what} is {Units.FormatBytes(bytes)}, over the limit of {Units.FormatBytes(maxBytes)}");
    }

    private static string Printable(string text)
    {
        var shown = new string(text.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 80 ? shown + "…" : shown;
    }

    private static Grpc.Core.RpcException Invalid(string message) => Statuses.Invalid(message);

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z")]
    private static partial Regex EnvName();
}
