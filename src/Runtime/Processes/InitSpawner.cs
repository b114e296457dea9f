using System.IO.Pipes;
using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Runtime.Processes;

/// <summary>What to start in init mode.</summary>
internal sealed record InitLaunch(string Program, IReadOnlyList<string> Arguments, IReadOnlyList<string> Environment);

/// <summary>
/// Starts an init as PID 1 of fresh mount, PID, UTS, IPC and network namespaces,
/// from the one long-lived <see cref="SpawnerThread"/>: the init's parent is that
/// thread, so the PR_SET_PDEATHSIG the init sets fires only when the daemon dies.
/// </summary>
internal static class InitSpawner
{
    public static async Task<InitProcess> SpawnAsync(InitLaunch launch, CancellationToken ct)
    {
        var control = Libc.MakePipe("init control");
        var report = Libc.MakePipe("init report");
        var stdout = Libc.MakePipe("job stdout");
        var stderr = Libc.MakePipe("job stderr");
        var done = Libc.MakePipe("spawn done");
        var request = new SpawnRequest(done.Write);
        try
        {
            request.Prepare(launch, control.Read, report.Write, stdout.Write, stderr.Write);
            SpawnerThread.Enqueue(request);
            // The spawner thread must not touch the thread pool; it signals by closing its end of this pipe.
            await using (var doneStream = new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(done.Read, true)))
                await doneStream.ReadAsync(new byte[1], CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            request.Free();
            foreach (var fd in new[] { control.Read, report.Write, stdout.Write, stderr.Write })
                Libc.Close(fd);
        }
        if (request.FailedCall is { } call)
        {
            foreach (var fd in new[] { control.Write, report.Read, stdout.Read, stderr.Read })
                Libc.Close(fd);
            throw new NativeCallException(call, launch.Program, request.Error);
        }
        ct.ThrowIfCancellationRequested();
        return new InitProcess(request.Pid, control.Write, report.Read, stdout.Read, stderr.Read);
    }

    /// <summary>The unmanaged arguments of one posix_spawn, built and freed on ordinary threads.</summary>
    internal sealed unsafe class SpawnRequest(int doneFd)
    {
        public readonly int DoneFd = doneFd;
        public byte* Path;
        public byte** Argv, Envp;
        public void* FileActions, Attributes, EmptySet, FullSet;
        public int Pid, Error;
        public bool RestoreFailed;
        public string? FailedCall;
        private readonly List<nint> allocations = [];

        public void Prepare(InitLaunch launch, int controlRead, int reportWrite, int stdoutWrite, int stderrWrite)
        {
            Path = String(launch.Program);
            Argv = Array([launch.Program, .. launch.Arguments]);
            Envp = Array(launch.Environment);
            FileActions = Alloc(Libc.FileActionsSize);
            Libc.CheckSpawn(Libc.FileActionsInit(FileActions), "posix_spawn_file_actions_init");
            Libc.CheckSpawn(Libc.FileActionsAddOpen(FileActions, 0, "/dev/null", Libc.O_RDONLY, 0), "posix_spawn_file_actions_addopen");
            Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, stdoutWrite, 1), "posix_spawn_file_actions_adddup2");
            Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, stderrWrite, 2), "posix_spawn_file_actions_adddup2");
            Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, controlRead, ContainerInit.ControlFd), "posix_spawn_file_actions_adddup2");
            Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, reportWrite, ContainerInit.ReportFd), "posix_spawn_file_actions_adddup2");
            Libc.CheckSpawn(Libc.FileActionsAddCloseFrom(FileActions, ContainerInit.ReportFd + 1), "posix_spawn_file_actions_addclosefrom_np");
            Attributes = Alloc(Libc.SpawnAttrSize);
            Libc.CheckSpawn(Libc.SpawnAttrInit(Attributes), "posix_spawnattr_init");
            EmptySet = Alloc(Libc.SigsetSize);
            FullSet = Alloc(Libc.SigsetSize);
            Libc.SigEmptySet(EmptySet);
            Libc.SigFillSet(FullSet);
            Libc.CheckSpawn(Libc.SpawnAttrSetSigmask(Attributes, EmptySet), "posix_spawnattr_setsigmask");
            Libc.CheckSpawn(Libc.SpawnAttrSetSigdefault(Attributes, FullSet), "posix_spawnattr_setsigdefault");
            // A new session: a terminal's Ctrl-C meant for the daemon never reaches the containers.
            Libc.CheckSpawn(Libc.SpawnAttrSetFlags(Attributes,
                Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF | Libc.POSIX_SPAWN_SETSID), "posix_spawnattr_setflags");
        }

        public void Free()
        {
            if (FileActions != null)
                Libc.FileActionsDestroy(FileActions);
            if (Attributes != null)
                Libc.SpawnAttrDestroy(Attributes);
            foreach (var p in allocations)
                NativeMemory.Free((void*)p);
            allocations.Clear();
        }

        private void* Alloc(int size)
        {
            var p = NativeMemory.AllocZeroed((nuint)size);
            allocations.Add((nint)p);
            return p;
        }

        private byte* String(string value)
        {
            var length = System.Text.Encoding.UTF8.GetByteCount(value);
            var p = (byte*)Alloc(length + 1);
            System.Text.Encoding.UTF8.GetBytes(value, new Span<byte>(p, length));
            return p;
        }

        private byte** Array(IReadOnlyList<string> values)
        {
            var array = (byte**)Alloc((values.Count + 1) * sizeof(byte*));
            for (var i = 0; i < values.Count; i++)
                array[i] = String(values[i]);
            return array;
        }
    }
}
