using System.Text;

namespace Lcluster.Runtime.Tests;

/// <summary>
/// An argument of a probed syscall: a number, or bytes the probe carries and passes by address (a NUL-terminated
/// string; an array of i386 longs, as socketcall takes its arguments).
/// </summary>
public sealed record ProbeArg(long Number, byte[]? Data = null)
{
    public static implicit operator ProbeArg(long number) => new(number);

    public static implicit operator ProbeArg(string text) => new(0, Encoding.UTF8.GetBytes(text + "\0"));

    /// <summary>32-bit values in a row, passed by address: socketcall's arguments on i386.</summary>
    public static ProbeArg I386Longs(params int[] values) => new(0, [.. values.SelectMany(BitConverter.GetBytes)]);
}

/// <summary>One raw syscall for the probe to make; <see cref="Name"/> labels its result.</summary>
public sealed record ProbeCall(string Name, long Number, params ProbeArg[] Args);

/// <summary>
/// The rootfs is busybox: it has no keyctl, perf or strace, and nothing that
/// makes an arbitrary syscall. So the tests bring their own: a static ELF,
/// written here byte by byte, that makes one raw syscall and exits with its
/// errno (0 when the call succeeded). Run with N extra arguments it makes the
/// Nth call of its table. It reaches the job on stdin; no libc, nothing to
/// install, and the kernel (and so seccomp) sees exactly the call it names.
/// <see cref="Build"/> makes an x86-64 program (syscall), <see cref="BuildI386"/> an
/// i386 one (int 0x80), for the ABI a 32-bit program uses on the same kernel.
/// </summary>
public static class SyscallProbe
{
    public const string Path = "/probe";
    private const uint Base = 0x400000;

    // mov rax,[rsp] (argc); dec rax; imul rax,rax,56; lea rsi,[rip+table]; add rsi,rax;
    // load rdi,rsi,rdx,r10,r8,r9 and rax from the entry; syscall;
    // exit(rax < 0 ? -rax : 0).
    private static readonly byte[] X8664Code =
    [
        0x48, 0x8B, 0x04, 0x24, 0x48, 0xFF, 0xC8, 0x48, 0x6B, 0xC0, 0x38,
        0x48, 0x8D, 0x35, 0, 0, 0, 0, // lea rsi,[rip+disp32]: displacement patched below
        0x48, 0x01, 0xC6,
        0x48, 0x8B, 0x7E, 0x08, 0x48, 0x8B, 0x56, 0x18, 0x4C, 0x8B, 0x56, 0x20,
        0x4C, 0x8B, 0x46, 0x28, 0x4C, 0x8B, 0x4E, 0x30, 0x48, 0x8B, 0x06, 0x48, 0x8B, 0x76, 0x10,
        0x0F, 0x05,
        0x31, 0xFF, 0x48, 0x85, 0xC0, 0x79, 0x06, 0x48, 0x89, 0xC7, 0x48, 0xF7, 0xDF,
        0xB8, 0x3C, 0x00, 0x00, 0x00, 0x0F, 0x05,
    ];
    private const int X8664DisplacementAt = 14, X8664DisplacementEnd = 18;

    // mov eax,[esp] (argc); dec eax; imul eax,eax,28; mov esi,table; add esi,eax;
    // load ebx,ecx,edx,edi,ebp, eax and last esi from the entry; int 0x80;
    // exit(eax < 0 ? -eax : 0).
    private static readonly byte[] I386Code =
    [
        0x8B, 0x04, 0x24, 0x48, 0x6B, 0xC0, 0x1C,
        0xBE, 0, 0, 0, 0, // mov esi,imm32: the table's address, patched below
        0x01, 0xC6,
        0x8B, 0x5E, 0x04, 0x8B, 0x4E, 0x08, 0x8B, 0x56, 0x0C, 0x8B, 0x7E, 0x14, 0x8B, 0x6E, 0x18,
        0x8B, 0x06, 0x8B, 0x76, 0x10,
        0xCD, 0x80,
        0x31, 0xDB, 0x85, 0xC0, 0x79, 0x04, 0x89, 0xC3, 0xF7, 0xDB,
        0xB8, 0x01, 0x00, 0x00, 0x00, 0xCD, 0x80,
    ];
    private const int I386TableAddressAt = 8;

    /// <summary>An x86-64 ELF image of this machine code alone, run from its first byte (it must end in exit).</summary>
    public static byte[] Program(byte[] code) => Image([], elf64: true, machine: 0x3E, code, (_, _) => { });

    /// <summary>The x86-64 ELF image for these calls.</summary>
    public static byte[] Build(IReadOnlyList<ProbeCall> calls) => Image(calls, elf64: true, machine: 0x3E, X8664Code,
        (code, _) => BitConverter.GetBytes(code.Length - X8664DisplacementEnd).CopyTo(code, X8664DisplacementAt)); // the table follows the code

    /// <summary>The i386 ELF image for these calls (numbers are i386 syscall numbers).</summary>
    public static byte[] BuildI386(IReadOnlyList<ProbeCall> calls) => Image(calls, elf64: false, machine: 3, I386Code,
        (code, table) => BitConverter.GetBytes(table).CopyTo(code, I386TableAddressAt));

    /// <summary>
    /// The ELF header, one program header, the code (a copy of <paramref name="template"/>, patched with the table's
    /// address), then the table (per call: its number and six arguments, a word each) and the bytes the arguments
    /// point to; the whole file is one read + execute segment loaded at <see cref="Base"/>.
    /// </summary>
    private static byte[] Image(IReadOnlyList<ProbeCall> calls, bool elf64, ushort machine, byte[] template, Action<byte[], uint> patch)
    {
        int wordBytes = elf64 ? 8 : 4, headerBytes = elf64 ? 64 : 52, programHeaderBytes = elf64 ? 56 : 32;
        var codeAt = headerBytes + programHeaderBytes;
        var tableAt = codeAt + template.Length;
        var code = (byte[])template.Clone();
        patch(code, Base + (uint)tableAt);
        var dataAt = tableAt + calls.Count * 7 * wordBytes;
        var data = new MemoryStream();
        var table = new List<long>();
        foreach (var call in calls)
        {
            if (call.Args.Length > 6)
                throw new ArgumentException($"{call.Name}: a syscall has at most 6 arguments");
            table.Add(call.Number);
            foreach (var arg in call.Args.Concat(Enumerable.Repeat(new ProbeArg(0), 6 - call.Args.Length)))
            {
                if (arg.Data is null)
                {
                    table.Add(arg.Number);
                    continue;
                }
                table.Add(Base + dataAt + data.Length);
                data.Write(arg.Data);
            }
        }
        var image = new byte[dataAt + data.Length];
        var w = new BinaryWriter(new MemoryStream(image));
        void Word(long value)
        {
            if (elf64)
                w.Write(value);
            else
                w.Write((int)value);
        }
        w.Write([0x7F, (byte)'E', (byte)'L', (byte)'F', (byte)(elf64 ? 2 : 1), 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        w.Write((ushort)2); // ET_EXEC
        w.Write(machine);
        w.Write(1u);
        Word(Base + codeAt); // entry: the code, right after the headers
        Word(headerBytes); // the program header right after this one
        Word(0);
        w.Write(0u);
        w.Write((ushort)headerBytes);
        w.Write((ushort)programHeaderBytes);
        w.Write((ushort)1);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write(1u); // PT_LOAD of the whole file, read + execute (flags: 5), second in ELF64, seventh in ELF32
        if (elf64)
            w.Write(5u);
        Word(0);
        Word(Base);
        Word(Base);
        Word(image.Length);
        Word(image.Length);
        if (!elf64)
            w.Write(5u);
        Word(0x1000);
        w.Write(code);
        foreach (var value in table)
            Word(value);
        w.Write(data.ToArray());
        return image;
    }

    /// <summary>
    /// Whether this kernel runs i386 programs at all: it may be built or booted without ia32 emulation
    /// (<c>ia32_emulation=0</c>, and some hypervisors' guests), and then execve refuses them with ENOEXEC.
    /// </summary>
    public static bool KernelRunsI386()
    {
        var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"lcluster-i386-probe-{Environment.ProcessId}");
        File.WriteAllBytes(file, BuildI386([new ProbeCall("getpid", I386.Getpid)]));
        try
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            using var process = System.Diagnostics.Process.Start(file);
            process.WaitForExit();
            return process.ExitCode == 0 ? true : throw new InvalidOperationException($"the i386 probe's getpid exited {process.ExitCode}");
        }
        catch (System.ComponentModel.Win32Exception e) when (e.NativeErrorCode == ENOEXEC)
        {
            return false;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private const int ENOEXEC = 8;

    /// <summary>A job command that installs the probe from stdin and prints "NAME=ERRNO" for each call.</summary>
    public static string Script(IReadOnlyList<ProbeCall> calls)
    {
        var script = new StringBuilder($"cat > {Path} && chmod 755 {Path} || exit 99; ");
        for (var i = 0; i < calls.Count; i++)
            script.Append($"{Path}{string.Concat(Enumerable.Repeat(" x", i))}; echo {calls[i].Name}=$?; ");
        return script.Append("true").ToString();
    }

    /// <summary>NAME → errno (0: the call succeeded) from a job's stdout.</summary>
    public static IReadOnlyDictionary<string, int> Results(string stdout) =>
        stdout.Split('\n').Where(l => l.Contains('=')).Select(l => l.Split('=', 2))
            .Where(f => int.TryParse(f[1], out _)).ToDictionary(f => f[0], f => int.Parse(f[1]));
}

/// <summary>x86-64 syscall numbers and the constants the probes pass.</summary>
public static class Sys
{
    public const long Clone = 56, Ptrace = 101, Personality = 135, Mount = 165, Umount2 = 166, PivotRoot = 155,
        Socket = 41, Getpid = 39, KexecLoad = 246, AddKey = 248, RequestKey = 249, Keyctl = 250, Unshare = 272,
        PerfEventOpen = 298, Setns = 308, Bpf = 321, Userfaultfd = 323, Clone3 = 435, InitModule = 175, OpenByHandleAt = 304;
    public const long CloneNewUser = 0x10000000, CloneNewNs = 0x20000, Sigchld = 17;
    public const long KeySpecSessionKeyring = -3, KeySpecUserKeyring = -4, KeySpecUserSessionKeyring = -5;
    public const long KeyctlGetKeyringId = 0, KeyctlSearch = 10;
    public const long PtraceGetregs = 12, ReadImpliesExec = 0x0400000, PersonalityQuery = 0xFFFFFFFF;
    public const int AfUnix = 1, AfAlg = 38, AfVsock = 40, SockStream = 1, SockSeqpacket = 5;
    public const int EPERM = 1, ESRCH = 3, EBADF = 9, ENOSYS = 38, EAFNOSUPPORT = 97, ENOKEY = 126;
}

/// <summary>i386 syscall numbers, and socketcall's call numbers (linux/net.h), for <see cref="SyscallProbe.BuildI386"/>.</summary>
public static class I386
{
    public const long Getpid = 20, Socketcall = 102, Socket = 359;
    public const long SysSocket = 1, SysConnect = 3;
}
