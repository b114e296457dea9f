using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Security;

/// <summary>
/// Docker's default profile compiled by libseccomp for this machine: built
/// while a pooled init warms up (job-independent), loaded by the init just
/// before execve. The filter then holds for the job and everything it starts.
/// </summary>
internal sealed unsafe class SeccompFilter
{
    private readonly nint context;

    private SeccompFilter(nint context, IReadOnlyList<string> unknown)
    {
        this.context = context;
        UnknownNames = unknown;
    }

    /// <summary>Names of the profile this libseccomp cannot resolve (newer than it): they stay refused, as in Docker with the same library.</summary>
    public IReadOnlyList<string> UnknownNames { get; }

    /// <summary>The profile's rules that apply to this architecture, Docker's default capabilities and this kernel.</summary>
    public static IEnumerable<SeccompRule> ApplicableRules(string arch, Version kernel)
    {
        var caps = Processes.Capabilities.NamesIn(Processes.Capabilities.DockerDefault);
        return DockerSeccompProfile.Rules.Where(r => r.AppliesTo(arch, caps, kernel));
    }

    /// <summary>Builds the filter for the running machine; throws naming the libseccomp call that failed.</summary>
    public static SeccompFilter DockerDefault()
    {
        var (arch, subArchitectures) = HostArchitecture();
        nint context;
        try
        {
            context = LibSeccomp.Init(LibSeccomp.ActErrno(DockerSeccompProfile.DefaultErrno));
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                "libseccomp.so.2 cannot be loaded: install Debian's libseccomp2 (containers get Docker's seccomp profile through it)", e);
        }
        if (context == 0)
            throw new InvalidOperationException("seccomp_init failed: libseccomp could not make a filter (out of memory?)");
        var unknown = new List<string>();
        try
        {
            foreach (var token in subArchitectures)
            {
                var added = LibSeccomp.ArchAdd(context, token);
                if (added < 0 && -added != Errno.EEXIST)
                    LibSeccomp.Check(added, "seccomp_arch_add", $"0x{token:x}");
            }
            foreach (var rule in ApplicableRules(arch, Environment.OSVersion.Version))
                Add(context, rule, unknown);
        }
        catch
        {
            LibSeccomp.Release(context); // half-built: nobody will load it
            throw;
        }
        return new SeccompFilter(context, unknown);
    }

    /// <summary>Installs the filter on the calling thread (execve keeps it); needs no_new_privs, which is set before.</summary>
    public void Load() => LibSeccomp.Check(LibSeccomp.Load(context), "seccomp_load", "docker default profile");

    /// <summary>Binds the native entry points the job-time path uses (after pivot_root nothing can be loaded).</summary>
    public static void Warm() => _ = LibSeccomp.Load(0);

    private static void Add(nint context, SeccompRule rule, List<string> unknown)
    {
        var action = rule.Verdict == SeccompVerdict.Allow ? LibSeccomp.SCMP_ACT_ALLOW : LibSeccomp.ActErrno(rule.ErrnoRet);
        var count = rule.Arguments.Count;
        var arguments = stackalloc ArgumentCompare[Math.Max(count, 1)];
        for (var i = 0; i < count; i++)
        {
            var a = rule.Arguments[i];
            arguments[i] = new ArgumentCompare { Argument = (uint)a.Index, Op = (int)a.Op, DatumA = a.Value, DatumB = a.ValueTwo };
        }
        foreach (var name in rule.Names)
        {
            var number = LibSeccomp.ResolveName(name);
            if (number == LibSeccomp.NR_SCMP_ERROR)
            {
                unknown.Add(name); // unknown to this libseccomp: refused by default, as runc does
                continue;
            }
            LibSeccomp.Check(LibSeccomp.RuleAddArray(context, action, number, (uint)count, count == 0 ? null : arguments),
                "seccomp_rule_add_array", name);
        }
    }

    /// <summary>Docker's (Go) name of this architecture and the ABIs its archMap adds to the filter.</summary>
    private static (string Arch, uint[] SubArchitectures) HostArchitecture() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => ("amd64", [LibSeccomp.SCMP_ARCH_X86, LibSeccomp.SCMP_ARCH_X32]),
        var other => throw new PlatformNotSupportedException(
            $"the seccomp profile is set up for amd64 only; this is {other}: add its archMap entry to SeccompFilter"),
    };
}
