using System.Text;

namespace Lcluster.Runtime.Tests;

/// <summary>An argument of a probed syscall: a number, or a NUL-terminated string the probe carries (passed by address).</summary>
public sealed record ProbeArg(long Number, string? Text = null)
{
    public static implicit operator ProbeArg(long number) => new(number);

    public static implicit operator ProbeArg(string text) => new(0, text);
}

/// <summary>One raw syscall for the probe to make; <see cref="Name"/> labels its result.</summary>
public sealed record ProbeCall(string Name, long Number, params ProbeArg[] Args);

/// <summary>
/// The rootfs is busybox: it has no keyctl, perf or strace, and nothing that
/// makes an arbitrary syscall. So the tests bring their own: a static x86-64
/// ELF, written here byte by byte, that makes one raw syscall and exits with
/// its errno (0 when the call succeeded). Run with N extra arguments it makes
/// the Nth call of its table. It reaches the job on stdin; no libc, nothing to
/// install, and the kernel (and so seccomp) sees exactly the call it names.
/// </summary>
public static class SyscallProbe
{
    public const string Path = "/probe";
    private const ulong Base = 0x400000;
    private const int HeaderBytes = 64, ProgramHeaderBytes = 56, EntryBytes = 56;

    // mov rax,[rsp] (argc); dec rax; imul rax,rax,56; lea rsi,[rip+table]; add rsi,rax;
    // load rdi,rsi,rdx,r10,r8,r9 and rax from the entry; syscall;
    // exit(rax < 0 ? -rax : 0).
    private static readonly byte[] CodeBeforeTable =
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
    private const int LeaDisplacementAt = 14, LeaEnd = 18;

    /// <summary>The ELF image for these calls.</summary>
    public static byte[] Build(IReadOnlyList<ProbeCall> calls)
    {
        var codeAt = HeaderBytes + ProgramHeaderBytes;
        var tableAt = codeAt + CodeBeforeTable.Length;
        var stringsAt = tableAt + calls.Count * EntryBytes;
        var strings = new MemoryStream();
        var table = new List<long>();
        foreach (var call in calls)
        {
            if (call.Args.Length > 6)
                throw new ArgumentException($"{call.Name}: a syscall has at most 6 arguments");
            table.Add(call.Number);
            foreach (var arg in call.Args.Concat(Enumerable.Repeat(new ProbeArg(0), 6 - call.Args.Length)))
            {
                if (arg.Text is null)
                {
                    table.Add(arg.Number);
                    continue;
                }
                table.Add((long)Base + stringsAt + strings.Length);
                strings.Write(Encoding.UTF8.GetBytes(arg.Text + "\0"));
            }
        }
        var image = new byte[stringsAt + strings.Length];
        var w = new BinaryWriter(new MemoryStream(image));
        w.Write([0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        w.Write((ushort)2); // ET_EXEC
        w.Write((ushort)0x3E); // x86-64
        w.Write(1u);
        w.Write(Base + (ulong)codeAt);
        w.Write((ulong)HeaderBytes); // program headers right after this one
        w.Write(0UL);
        w.Write(0u);
        w.Write((ushort)HeaderBytes);
        w.Write((ushort)ProgramHeaderBytes);
        w.Write((ushort)1);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write((ushort)0);
        w.Write(1u); // PT_LOAD of the whole file, read + execute
        w.Write(5u);
        w.Write(0UL);
        w.Write(Base);
        w.Write(Base);
        w.Write((ulong)image.Length);
        w.Write((ulong)image.Length);
        w.Write(0x1000UL);
        var code = (byte[])CodeBeforeTable.Clone();
        BitConverter.GetBytes(tableAt - (codeAt + LeaEnd)).CopyTo(code, LeaDisplacementAt);
        w.Write(code);
        foreach (var value in table)
            w.Write(value);
        w.Write(strings.ToArray());
        return image;
    }

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
    public const long PtraceGetregs = 12, AfVsock = 40, SockStream = 1, ReadImpliesExec = 0x0400000, PersonalityQuery = 0xFFFFFFFF;
    public const int EPERM = 1, ESRCH = 3, ENOSYS = 38, ENOKEY = 126;
}
