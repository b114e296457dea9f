namespace Lcluster.Runtime;

/// <summary>The job's environment: the runtime's defaults, the spec's entries over them, the job id last.</summary>
internal static class JobEnvironment
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static IReadOnlyList<string> For(SandboxSpec spec)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = DefaultPath,
            ["HOME"] = "/root",
        };
        foreach (var (key, value) in spec.Environment)
            values[key] = value;
        values[SandboxSpec.JobIdVariable] = spec.JobId;
        return values.Select(kv => $"{kv.Key}={kv.Value}").ToArray();
    }
}

/// <summary>The init process's own environment (the job never sees it): a lean .NET start-up.</summary>
internal static class InitEnvironment
{
    public static readonly string[] Knobs =
    [
        "DOTNET_EnableDiagnostics=0", // no diagnostics IPC thread and socket (it would land in the host's /tmp)
        "DOTNET_LTTng=0",             // no tracing provider probe at start-up
        "DOTNET_TieredPGO=0",         // no instrumentation: the init runs each path once
        "DOTNET_TieredCompilation=0", // no tier-up worker thread that could start after the init joined pids.max
        "DOTNET_gcConcurrent=0",      // no background GC thread to count against pids.max
        "DOTNET_gcServer=0",
    ];

    /// <summary>What the .NET host needs to find the runtime.</summary>
    public static readonly string[] PassThrough = ["DOTNET_ROOT", "DOTNET_ROOT_X64"];
}
