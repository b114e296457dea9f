using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>
/// Puts the whole daemon into a named network namespace (/run/netns/NAME, as
/// made by `ip netns add`). A namespace is per thread and .NET has threads
/// before Main, so a fresh thread joins the namespace and re-executes this
/// program from there: the new image starts with every thread, and every
/// socket and child it will ever make, inside.
/// </summary>
public static unsafe class NetworkNamespace
{
    private const uint StatxIno = 0x100;

    /// <summary>Returns when this process already is in the namespace; otherwise re-executes it there (or throws).</summary>
    public static void Enter(string name, IReadOnlyList<string> args)
    {
        var path = "/run/netns/" + name;
        if (!File.Exists(path))
            throw new SandboxException($"network namespace {name} does not exist ({path}); create it with `ip netns add {name}`");
        if (Inode(path) == Inode("/proc/self/ns/net"))
            return;
        var program = Environment.ProcessPath ?? throw new SandboxException("cannot tell the path of this program to re-execute it");
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                JoinAndExec(path, program, args);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        throw new SandboxException($"could not enter network namespace {name}: {failure?.Message}", failure);
    }

    private static void JoinAndExec(string path, string program, IReadOnlyList<string> args)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        Errno.Check(fd, "open", path);
        Errno.Check(Libc.Setns(fd, Libc.CLONE_NEWNET), "setns", path);
        Libc.Close(fd);
        var argv = new[] { program }.Concat(args).ToArray();
        var envp = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}").ToArray();
        using var argvBlock = new NativeStrings(argv);
        using var envpBlock = new NativeStrings(envp);
        var programBytes = NativeStrings.Utf8(program);
        fixed (byte* p = programBytes)
            Libc.Execve(p, argvBlock.Pointer, envpBlock.Pointer);
        Errno.Check(-1, "execve", program);
    }

    private static ulong Inode(string path)
    {
        StatxBuffer buffer;
        Errno.Check(Libc.Statx(Libc.AT_FDCWD, path, 0, StatxIno, &buffer), "statx", path);
        return buffer.Inode;
    }

    /// <summary>A NULL-terminated array of NUL-terminated UTF-8 strings in unmanaged memory.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly nint[] _strings;

        public NativeStrings(IReadOnlyList<string> values)
        {
            _strings = values.Select(v => Marshal.StringToCoTaskMemUTF8(v)).ToArray();
            Pointer = (byte**)NativeMemory.Alloc((nuint)(values.Count + 1), (nuint)sizeof(nint));
            for (var i = 0; i < _strings.Length; i++)
                Pointer[i] = (byte*)_strings[i];
            Pointer[_strings.Length] = null;
        }

        public byte** Pointer { get; }

        public static byte[] Utf8(string s) => [.. System.Text.Encoding.UTF8.GetBytes(s), 0];

        public void Dispose()
        {
            foreach (var s in _strings)
                Marshal.FreeCoTaskMem(s);
            NativeMemory.Free(Pointer);
        }
    }
}
