using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Security;

/// <summary>
/// Docker's default profile compiled by libseccomp for this machine while a
/// pooled init waits (it is job-independent): libseccomp builds the rules and
/// exports the BPF program it generates; the init installs that program with
/// seccomp(2) just before execve. libseccomp's own seccomp_load would generate
/// the program again at that point, on the container's start-up path.
/// </summary>
internal sealed unsafe class SeccompFilter
{
    private readonly SockFilterProgram* _program;

    private SeccompFilter(SockFilterProgram* program, IReadOnlyList<string> unknown)
    {
        _program = program;
        UnknownNames = unknown;
    }

    /// <summary>The size of the compiled program, in BPF instructions.</summary>
    public int Instructions => _program->Length;

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
            return new SeccompFilter(Export(context), unknown);
        }
        finally
        {
            LibSeccomp.Release(context);
        }
    }

    /// <summary>Installs the filter on the calling thread (execve keeps it); needs no_new_privs, which is set before.</summary>
    public void Load() => Errno.Check(Libc.SeccompSetFilter(_program), "seccomp", "docker default profile");

    /// <summary>Binds the native entry point the job-time path uses (after pivot_root nothing can be loaded).</summary>
    public static void Warm() => _ = Libc.SeccompSetFilter(null);

    /// <summary>The BPF program libseccomp generates for the context, in unmanaged memory kept until execve.</summary>
    private static SockFilterProgram* Export(nint context)
    {
        var fd = Errno.Check(Libc.MemfdCreate("lcluster-seccomp", Libc.MFD_CLOEXEC), "memfd_create", "seccomp program");
        try
        {
            LibSeccomp.Check(LibSeccomp.ExportBpf(context, fd), "seccomp_export_bpf");
            var bytes = Errno.Check((nint)Libc.Lseek(fd, 0, Libc.SEEK_CUR), "lseek", "seccomp program"); // the end, after the export
            var count = (int)bytes / SockFilterProgram.InstructionBytes;
            if (bytes % SockFilterProgram.InstructionBytes != 0 || count is 0 or > ushort.MaxValue)
                throw new InvalidOperationException($"libseccomp exported a BPF program of {bytes} bytes, which is not a program the kernel takes");
            var instructions = (byte*)NativeMemory.Alloc((nuint)bytes);
            Errno.Check((nint)Libc.Lseek(fd, 0, Libc.SEEK_SET), "lseek", "seccomp program");
            for (nint done = 0; done < bytes;)
            {
                var n = Errno.Check(Libc.Read(fd, instructions + done, bytes - done), "read", "seccomp program");
                done += n > 0 ? n : throw new InvalidOperationException("the exported seccomp program ended early");
            }
            var program = (SockFilterProgram*)NativeMemory.Alloc((nuint)sizeof(SockFilterProgram));
            *program = new SockFilterProgram { Length = (ushort)count, Instructions = instructions };
            return program;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

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
