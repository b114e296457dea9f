using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Security;

/// <summary>
/// Docker's default profile, compiled by libseccomp once, in the daemon: it is job-independent and the same for every
/// container on this machine. libseccomp builds the rules and exports the BPF program it generates; each init gets that
/// program over its control socket while it waits in the pool (<see cref="CompileDockerDefault"/>, <see cref="FromInstructions"/>)
/// and installs it with seccomp(2) just before execve. Compiled in every init, it cost each job ~10 ms of CPU in libseccomp.
/// One thing is added in front of libseccomp's program: <see cref="Prologue"/>.
/// </summary>
internal sealed unsafe class SeccompFilter
{
    /// <summary>The largest program the kernel takes (BPF_MAXINSNS), in bytes.</summary>
    public const int MaxProgramBytes = 4096 * SockFilterProgram.InstructionBytes;

    private readonly SockFilterProgram* _program;

    private SeccompFilter(SockFilterProgram* program)
    {
        _program = program;
    }

    /// <summary>The size of the program, in BPF instructions.</summary>
    public int Instructions => _program->Length;

    /// <summary>The profile's rules that apply to this architecture, Docker's default capabilities and this kernel.</summary>
    public static IEnumerable<SeccompRule> ApplicableRules(string arch, Version kernel)
    {
        var caps = Processes.Capabilities.NamesIn(Processes.Capabilities.DockerDefault);
        return DockerSeccompProfile.Rules.Where(r => r.AppliesTo(arch, caps, kernel));
    }

    /// <summary>
    /// Compiles the profile for the running machine to its BPF program, framed as an init reads it: the program's size
    /// in bytes (4, little-endian), then its instructions. Throws naming the libseccomp call that failed.
    /// </summary>
    public static byte[] CompileDockerDefault()
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
        try
        {
            foreach (var token in subArchitectures)
            {
                var added = LibSeccomp.ArchAdd(context, token);
                if (added < 0 && -added != Errno.EEXIST)
                    LibSeccomp.Check(added, "seccomp_arch_add", $"0x{token:x}");
            }
            foreach (var rule in ApplicableRules(arch, Environment.OSVersion.Version))
                Add(context, rule);
            return Export(context);
        }
        finally
        {
            LibSeccomp.Release(context);
        }
    }

    /// <summary>
    /// Docker's profile refuses socket(2) for AF_ALG (38) and AF_VSOCK (40) by its first argument, and allows
    /// socketcall(2) outright. On the i386 ABI socketcall(SYS_SOCKET) makes the same sockets with the family behind a
    /// pointer no BPF program can read (libseccomp even pairs each socket rule with such a socketcall rule, checking
    /// only the call number), so a 32-bit job would make the sockets the profile refuses. These instructions, run
    /// before libseccomp's, answer socketcall(SYS_SOCKET) on i386 with ENOSYS and pass everything else on: i386 has
    /// had socket(2) itself since Linux 4.3, where the family is checked; libcs that use it (musl, and glibc built for
    /// 4.3 or later) are unaffected, and every other socketcall stays as Docker allows it. libseccomp cannot say this
    /// itself: a socketcall refusal beside the socket rules is refused as a conflict (EEXIST) and takes the socket
    /// rules of every ABI with it. Its program jumps only forward and relative, so it runs unchanged after these.
    /// </summary>
    private static readonly byte[] Prologue = Assemble(
    [
        (BpfLoadWord, 0, 0, SeccompDataArch),
        (BpfJumpIfEqual, 0, 5, AuditArchI386), // another ABI: on to libseccomp's program
        (BpfLoadWord, 0, 0, SeccompDataNr),
        (BpfJumpIfEqual, 0, 3, I386Socketcall),
        (BpfLoadWord, 0, 0, SeccompDataArg0), // the low half: i386 arguments are 32 bits, zero-extended
        (BpfJumpIfEqual, 0, 1, SocketcallSocket),
        (BpfReturn, 0, 0, SeccompRetErrno | Errno.ENOSYS),
    ]);

    private const ushort BpfLoadWord = 0x20, BpfJumpIfEqual = 0x15, BpfReturn = 0x06; // BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_RET|K
    private const uint SeccompDataNr = 0, SeccompDataArch = 4, SeccompDataArg0 = 16; // offsets in struct seccomp_data
    private const uint AuditArchI386 = 0x40000003, I386Socketcall = 102, SocketcallSocket = 1, SeccompRetErrno = 0x00050000;

    private static byte[] Assemble(IReadOnlyList<(ushort Code, byte JumpTrue, byte JumpFalse, uint K)> program)
    {
        var bytes = new byte[program.Count * SockFilterProgram.InstructionBytes];
        for (var i = 0; i < program.Count; i++)
        {
            var at = bytes.AsSpan(i * SockFilterProgram.InstructionBytes);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(at, program[i].Code);
            at[2] = program[i].JumpTrue;
            at[3] = program[i].JumpFalse;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(at[4..], program[i].K);
        }
        return bytes;
    }

    /// <summary>The program of a frame's instructions (after its size), in unmanaged memory kept until execve.</summary>
    public static SeccompFilter FromInstructions(ReadOnlySpan<byte> instructions)
    {
        if (instructions.Length is 0 or > MaxProgramBytes || instructions.Length % SockFilterProgram.InstructionBytes != 0)
            throw new InvalidDataException($"a seccomp program of {instructions.Length} bytes is not one the kernel takes");
        var copy = (byte*)NativeMemory.Alloc((nuint)instructions.Length);
        instructions.CopyTo(new Span<byte>(copy, instructions.Length));
        var program = (SockFilterProgram*)NativeMemory.Alloc((nuint)sizeof(SockFilterProgram));
        *program = new SockFilterProgram { Length = (ushort)(instructions.Length / SockFilterProgram.InstructionBytes), Instructions = copy };
        return new SeccompFilter(program);
    }

    /// <summary>Installs the filter on the calling thread (execve keeps it); needs no_new_privs, which is set before.</summary>
    public void Load() => Errno.Check(Libc.SeccompSetFilter(_program), "seccomp", "docker default profile");

    /// <summary>Binds the native entry point the job-time path uses (after pivot_root nothing can be loaded).</summary>
    public static void Warm() => _ = Libc.SeccompSetFilter(null);

    /// <summary>The BPF program libseccomp generates for the context after <see cref="Prologue"/>, framed (size, then instructions).</summary>
    private static byte[] Export(nint context)
    {
        var fd = Errno.Check(Libc.MemfdCreate("lcluster-seccomp", Libc.MFD_CLOEXEC), "memfd_create", "seccomp program");
        try
        {
            LibSeccomp.Check(LibSeccomp.ExportBpf(context, fd), "seccomp_export_bpf");
            var bytes = Errno.Check((nint)Libc.Lseek(fd, 0, Libc.SEEK_CUR), "lseek", "seccomp program"); // the end, after the export
            var total = Prologue.Length + bytes;
            if (bytes == 0 || total > MaxProgramBytes || bytes % SockFilterProgram.InstructionBytes != 0)
                throw new InvalidOperationException($"libseccomp exported a BPF program of {bytes} bytes, which is not a program the kernel takes");
            var frame = new byte[4 + total];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(frame, (int)total);
            Prologue.CopyTo(frame, 4);
            Errno.Check((nint)Libc.Lseek(fd, 0, Libc.SEEK_SET), "lseek", "seccomp program");
            fixed (byte* instructions = &frame[4 + Prologue.Length])
            {
                for (nint done = 0; done < bytes;)
                {
                    var n = Errno.Check(Libc.Read(fd, instructions + done, bytes - done), "read", "seccomp program");
                    done += n > 0 ? n : throw new InvalidOperationException("the exported seccomp program ended early");
                }
            }
            return frame;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static void Add(nint context, SeccompRule rule)
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
                continue; // unknown to this libseccomp: refused by default, as runc does
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
