using System.Text.Json;

namespace Lcluster.Bench;

/// <summary>
/// An OCI bundle for `runc run` whose container is isolated like ours: the same
/// namespaces, mounts, masked and read-only paths, capabilities, no_new_privs,
/// Docker's default seccomp profile (the very rules our init loads) and the same
/// cgroup limits. The root is the same rootfs read-only (runc has
/// no overlay of its own), which spares runc the per-job writable layer we build.
/// </summary>
internal static class RuncBundle
{
    private static readonly string[] DockerCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
    ];

    public static string Write(string directory, string rootFs, string command, Runtime.Limits limits, string cgroupsPath)
    {
        Directory.CreateDirectory(directory);
        var config = new Dictionary<string, object>
        {
            ["ociVersion"] = "1.0.2",
            ["root"] = new { path = rootFs, @readonly = true },
            ["hostname"] = "bench",
            ["process"] = new
            {
                terminal = false,
                user = new { uid = 0, gid = 0 },
                args = new[] { "/bin/sh", "-c", command },
                env = new[] { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LCLUSTER_JOB_ID=bench" },
                cwd = "/",
                noNewPrivileges = true,
                capabilities = new
                {
                    bounding = DockerCapabilities, effective = DockerCapabilities, permitted = DockerCapabilities,
                    inheritable = Array.Empty<string>(), ambient = Array.Empty<string>(),
                },
            },
            ["mounts"] = new object[]
            {
                new { destination = "/proc", type = "proc", source = "proc", options = new[] { "nosuid", "noexec", "nodev" } },
                new { destination = "/dev", type = "tmpfs", source = "tmpfs", options = new[] { "nosuid", "strictatime", "mode=755", "size=65536k" } },
                new { destination = "/dev/pts", type = "devpts", source = "devpts", options = new[] { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
                new { destination = "/dev/shm", type = "tmpfs", source = "shm", options = new[] { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
                new { destination = "/sys", type = "sysfs", source = "sysfs", options = new[] { "nosuid", "noexec", "nodev", "ro" } },
                new { destination = "/tmp", type = "tmpfs", source = "tmpfs", options = new[] { "nosuid", "nodev", "mode=1777" } },
            },
            ["linux"] = new
            {
                cgroupsPath,
                resources = new
                {
                    devices = new[] { new { allow = false, access = "rwm" } },
                    memory = new { limit = limits.MemoryBytes, swap = limits.MemoryBytes },
                    cpu = new { quota = (long)(limits.Cpus!.Value * 100_000), period = 100_000UL },
                    pids = new { limit = (long)limits.Pids!.Value },
                },
                namespaces = new[] { "pid", "network", "ipc", "uts", "mount", "cgroup" }.Select(t => new { type = t }),
                maskedPaths = new[]
                {
                    "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats",
                    "/proc/acpi", "/proc/scsi", "/sys/firmware",
                },
                readonlyPaths = new[] { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" },
                seccomp = DockerSeccomp(),
            },
        };
        File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
        return directory;
    }

    /// <summary>Docker's default profile resolved for this machine, in the OCI form runc reads (as `docker run` hands it to runc).</summary>
    private static object DockerSeccomp() => new
    {
        defaultAction = "SCMP_ACT_ERRNO",
        defaultErrnoRet = Runtime.Security.DockerSeccompProfile.DefaultErrno,
        architectures = new[] { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" },
        syscalls = Runtime.Security.SeccompFilter.ApplicableRules("amd64", Environment.OSVersion.Version).Select(rule => new
        {
            names = rule.Names,
            action = rule.Verdict == Runtime.Security.SeccompVerdict.Allow ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO",
            errnoRet = rule.Verdict == Runtime.Security.SeccompVerdict.Allow ? (int?)null : rule.ErrnoRet,
            args = rule.Arguments.Select(a => new { index = a.Index, value = a.Value, valueTwo = a.ValueTwo, op = OciOperator(a.Op) }),
        }),
    };

    private static string OciOperator(Runtime.Security.SeccompCompare op) => op switch
    {
        Runtime.Security.SeccompCompare.NotEqual => "SCMP_CMP_NE",
        Runtime.Security.SeccompCompare.Less => "SCMP_CMP_LT",
        Runtime.Security.SeccompCompare.LessOrEqual => "SCMP_CMP_LE",
        Runtime.Security.SeccompCompare.Equal => "SCMP_CMP_EQ",
        Runtime.Security.SeccompCompare.GreaterOrEqual => "SCMP_CMP_GE",
        Runtime.Security.SeccompCompare.Greater => "SCMP_CMP_GT",
        _ => "SCMP_CMP_MASKED_EQ",
    };
}
