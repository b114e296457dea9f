using System.Text.RegularExpressions;

namespace Lcluster.Runtime;

/// <summary>Checks on options and specs, before anything is created: bad input gets a clear error.</summary>
internal static partial class SandboxValidation
{
    public const int MaxCommandBytes = 1 << 20;

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,63}\z")]
    public static partial Regex JobId();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})\z")]
    private static partial Regex Hostname();

    [GeneratedRegex(@"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\z")]
    private static partial Regex CgroupParent();

    public static void Check(SandboxOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (!Path.IsPathRooted(o.InitProgram) || !File.Exists(o.InitProgram))
            throw new ArgumentException($"init program {o.InitProgram} is not an absolute path to an existing file");
        AbsoluteDirectoryPath(o.WorkDirectory, "work directory");
        if (!CgroupParent().IsMatch(o.CgroupParent) || o.CgroupParent.Split('/').Any(p => p is "." or ".."))
            throw new ArgumentException($"cgroup parent \"{o.CgroupParent}\" must be a relative path of [A-Za-z0-9._-] names");
        if (!Directory.Exists(o.CgroupRoot))
            throw new ArgumentException($"cgroup root {o.CgroupRoot} does not exist");
        if (o.PrestartedInits is < 0 or > SandboxOptions.MostPrestartedInits)
            throw new ArgumentException($"prestarted inits {o.PrestartedInits} must be 0-{SandboxOptions.MostPrestartedInits}");
        if (o.UserNamespaces is { } u)
            Check(u, o);
    }

    /// <summary>The id blocks must lie above the host's users, and the init, unprivileged on the host, must be able to execute its program.</summary>
    private static void Check(UserNamespaceOptions u, SandboxOptions o)
    {
        if (u.FirstHostId < UserNamespaceOptions.LowestFirstHostId)
            throw new ArgumentException($"user namespaces: first host id {u.FirstHostId} is below {UserNamespaceOptions.LowestFirstHostId}, among the host's own users");
        if (u.IdsPerContainer == 0 || u.MaxContainers < 1)
            throw new ArgumentException($"user namespaces: {u.IdsPerContainer} ids per container and {u.MaxContainers} containers must both be at least 1");
        if (u.EndHostId > uint.MaxValue)
            throw new ArgumentException($"user namespaces: {u.MaxContainers} blocks of {u.IdsPerContainer} ids from {u.FirstHostId} go past the last host id {uint.MaxValue - 1}");
        RequireOthersExecute(o.InitProgram, "execute the init program");
    }

    /// <summary>
    /// The file executable by others. The directories above it need not be: the init executes it through an fd the
    /// daemon opened (a program that loads files beside it, like a framework-dependent apphost, needs them readable).
    /// </summary>
    private static void RequireOthersExecute(string path, string what)
    {
        const uint OthersExecute = 0x1; // S_IXOTH
        if (Native.Libc.TryStat(Path.GetFullPath(path), 0, out var mode, out _) != 0)
            return; // missing: the existence check says so
        if ((mode & OthersExecute) == 0)
            throw new ArgumentException(
                $"with user namespaces a container's root is an unprivileged host id, which must {what}: {path} is mode {Convert.ToString(mode & 0xFFF, 8)}; " +
                "chmod o+x it, or turn user namespaces off");
    }

    public static void Check(SandboxSpec s)
    {
        ArgumentNullException.ThrowIfNull(s);
        CheckJobId(s.JobId);
        AbsoluteDirectoryPath(s.RootFs, "rootfs");
        if (!Directory.Exists(s.RootFs))
            throw new ArgumentException($"rootfs {s.RootFs} is not a directory");
        if (string.IsNullOrEmpty(s.Command) || s.Command.Contains('\0'))
            throw new ArgumentException("the command is empty or contains a NUL byte");
        if (System.Text.Encoding.UTF8.GetByteCount(s.Command) > MaxCommandBytes)
            throw new ArgumentException($"the command is longer than {MaxCommandBytes} bytes");
        if (!Hostname().IsMatch(s.Hostname ?? ""))
            throw new ArgumentException($"hostname \"{s.Hostname}\" must be 1-63 of [A-Za-z0-9.-], starting with a letter or digit");
        foreach (var (key, value) in s.Environment)
        {
            if (key.Length == 0 || key.Contains('=') || key.Contains('\0') || value.Contains('\0'))
                throw new ArgumentException($"environment variable \"{key}\" has an empty name, '=' in its name or a NUL byte");
        }
        (s.Limits ?? throw new ArgumentException("limits are null")).Validate();
        foreach (var (path, what) in new[] { (s.StdoutPath, "stdout"), (s.StderrPath, "stderr") })
        {
            if (!Path.IsPathRooted(path) || !Directory.Exists(Path.GetDirectoryName(path)))
                throw new ArgumentException($"{what} path {path} is not absolute or its directory does not exist");
        }
        if (s.StdoutPath == s.StderrPath)
            throw new ArgumentException($"stdout and stderr both go to {s.StdoutPath}; give each its own file");
        if (s.OutputCapBytes < 0)
            throw new ArgumentException($"output cap {s.OutputCapBytes} is negative");
    }

    public static void CheckJobId(string jobId)
    {
        if (!JobId().IsMatch(jobId ?? ""))
            throw new ArgumentException($"job id \"{jobId}\" must be 1-64 of [a-z0-9-], starting with a letter or digit");
    }

    /// <summary>Absolute, and free of the characters that would break overlay's mount options.</summary>
    private static void AbsoluteDirectoryPath(string path, string what)
    {
        if (string.IsNullOrEmpty(path) || !Path.IsPathRooted(path))
            throw new ArgumentException($"{what} \"{path}\" is not an absolute path");
        if (path.IndexOfAny([',', ':', '\\', '\0', '\n']) >= 0)
            throw new ArgumentException($"{what} \"{path}\" contains ',', ':', '\\' or a control character, which overlayfs cannot take");
    }
}
