using System.Text;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Cgroups;

/// <summary>
/// File access to a cgroup filesystem. Writes never create files (a missing
/// file means a controller is not there); directory creation and removal are
/// virtual so unit tests can play the kernel in a plain directory.
/// </summary>
internal class CgroupFs
{
    public static CgroupFs Kernel { get; } = new();

    /// <summary>mkdir; an existing directory is accepted only when <paramref name="mayExist"/>.</summary>
    public virtual void MakeDirectory(string path, bool mayExist)
    {
        if (Libc.Mkdir(path, Libc.Mode0755) == 0)
            return;
        var errno = Errno.Last;
        if (errno == Errno.EEXIST && mayExist)
            return;
        throw new NativeCallException("create cgroup", path, errno);
    }

    /// <summary>rmdir; returns 0 or the errno (EBUSY while a dying process is still inside).</summary>
    public virtual int RemoveDirectory(string path) => Libc.Rmdir(path) == 0 ? 0 : Errno.Last;

    public virtual unsafe void Write(string path, string value)
    {
        var fd = Libc.Open(path, Libc.O_WRONLY | Libc.O_TRUNC | Libc.O_CLOEXEC, 0);
        if (fd == -1)
            throw new NativeCallException($"write {value} to", $"{path} (is the controller enabled?)", Errno.Last);
        try
        {
            Libc.WriteAll(fd, Encoding.ASCII.GetBytes(value), path);
        }
        catch (NativeCallException e)
        {
            throw new NativeCallException($"write {value} to", path, e.ErrorNumber);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    public string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new IOException($"read {path}: {e.Message}", e);
        }
    }

    public bool Exists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    /// <summary>Child directory names (job cgroups below a parent).</summary>
    public IReadOnlyList<string> Children(string path) =>
        Directory.Exists(path) ? Directory.GetDirectories(path).Select(Path.GetFileName).OfType<string>().ToArray() : [];

    /// <summary>The value of "key N" in a flat-keyed file such as memory.events or cpu.stat; 0 when absent.</summary>
    public long ReadKey(string path, string key)
    {
        foreach (var line in Read(path).Split('\n'))
        {
            var space = line.IndexOf(' ');
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key) && long.TryParse(line.AsSpan(space + 1), out var value))
                return value;
        }
        return 0;
    }

    public long ReadLong(string path) =>
        long.TryParse(Read(path).Trim(), out var value) ? value : throw new InvalidDataException($"{path} does not hold a number");

    /// <summary>The pids in a cgroup.procs file.</summary>
    public IReadOnlyList<int> ReadPids(string path)
    {
        var pids = new List<int>();
        foreach (var line in Read(path).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (int.TryParse(line, out var pid))
                pids.Add(pid);
        return pids;
    }
}
