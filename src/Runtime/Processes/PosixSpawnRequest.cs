using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// An init started with posix_spawn (vfork) from the spawner thread after it unshared fresh mount, PID, UTS, IPC
/// and network namespaces: the init runs as host root. Used when user namespaces are off.
/// </summary>
internal sealed unsafe class PosixSpawnRequest(int doneFd) : SpawnRequest(doneFd)
{
    public byte* Path;
    public byte** Argv, Envp;
    public void* FileActions, Attributes;

    public override void Prepare(InitLaunch launch, int control, int report, int stdout, int stderr)
    {
        Path = String(launch.Program);
        Argv = Array([launch.Program, .. launch.Arguments]);
        Envp = Array(launch.Environment);
        FileActions = Alloc(Libc.FileActionsSize);
        Libc.CheckSpawn(Libc.FileActionsInit(FileActions), "posix_spawn_file_actions_init");
        Libc.CheckSpawn(Libc.FileActionsAddOpen(FileActions, 0, "/dev/null", Libc.O_RDONLY, 0), "posix_spawn_file_actions_addopen");
        Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, stdout, 1), "posix_spawn_file_actions_adddup2");
        Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, stderr, 2), "posix_spawn_file_actions_adddup2");
        Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, control, ContainerInit.ControlFd), "posix_spawn_file_actions_adddup2");
        Libc.CheckSpawn(Libc.FileActionsAddDup2(FileActions, report, ContainerInit.ReportFd), "posix_spawn_file_actions_adddup2");
        Libc.CheckSpawn(Libc.FileActionsAddCloseFrom(FileActions, ContainerInit.ReportFd + 1), "posix_spawn_file_actions_addclosefrom_np");
        Attributes = Alloc(Libc.SpawnAttrSize);
        Libc.CheckSpawn(Libc.SpawnAttrInit(Attributes), "posix_spawnattr_init");
        var emptySet = Alloc(Libc.SigsetSize);
        var fullSet = Alloc(Libc.SigsetSize);
        Libc.SigEmptySet(emptySet);
        Libc.SigFillSet(fullSet);
        Libc.CheckSpawn(Libc.SpawnAttrSetSigmask(Attributes, emptySet), "posix_spawnattr_setsigmask");
        Libc.CheckSpawn(Libc.SpawnAttrSetSigdefault(Attributes, fullSet), "posix_spawnattr_setsigdefault");
        // A new session: a terminal's Ctrl-C meant for the daemon never reaches the containers.
        Libc.CheckSpawn(Libc.SpawnAttrSetFlags(Attributes,
            Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF | Libc.POSIX_SPAWN_SETSID), "posix_spawnattr_setflags");
    }

    public override void Dispose()
    {
        if (FileActions != null)
            Libc.FileActionsDestroy(FileActions);
        if (Attributes != null)
            Libc.SpawnAttrDestroy(Attributes);
        FileActions = Attributes = null;
        base.Dispose();
    }
}
