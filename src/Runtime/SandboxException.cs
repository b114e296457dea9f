namespace Lcluster.Runtime;

/// <summary>
/// The node could not set a container up (cgroups, work directory, init
/// process): an infrastructure failure, not the job's. Whatever was created
/// for the job has been removed when this is thrown.
/// </summary>
public sealed class SandboxException(string message, Exception? inner = null) : Exception(message, inner);
