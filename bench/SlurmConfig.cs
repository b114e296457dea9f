namespace Lcluster.Bench;

/// <summary>
/// The slurm.conf of the bench's anchor: a single-node Slurm in its fastest
/// setup for many trivial jobs. Each setting carries, in the file itself, why it
/// is there; docs/performance.md sums them up.
/// </summary>
internal static class SlurmConfig
{
    public const string NodeName = "bench";

    public static string Render(SlurmLayout layout, string clusterName, int controllerPort, int nodePort, int cpus, int maxArraySize) => $"""
        # Throwaway single-node Slurm of lcluster's bench (bench/SlurmAnchor.cs), removed after the run.
        ClusterName={clusterName}
        # Controller and node on loopback, on ports that were free a moment ago: a system Slurm (6817/6818) is never touched.
        SlurmctldHost=localhost(127.0.0.1)
        SlurmctldPort={controllerPort}
        SlurmdPort={nodePort}
        NodeName={NodeName} NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={cpus} State=UNKNOWN
        PartitionName={NodeName} Nodes={NodeName} Default=YES MaxTime=INFINITE State=UP
        # The bench runs as root, and so does everything here: no slurm user, no switch of user per job.
        SlurmUser=root
        SlurmdUser=root
        # Our own munged on its own socket in the scratch directory; the system's munge is neither used nor started.
        AuthType=auth/munge
        CredType=cred/munge
        AuthInfo=socket={layout.MungeSocket}
        # Every state, spool, pid and log file in the scratch directory.
        StateSaveLocation={layout.StateDir}
        SlurmdSpoolDir={layout.SpoolDir}
        SlurmctldPidFile={layout.PidFile("slurmctld")}
        SlurmdPidFile={layout.PidFile("slurmd")}
        SlurmctldLogFile={layout.Log("slurmctld")}
        SlurmdLogFile={layout.Log("slurmd")}
        # Errors only: at the default level (info) both daemons write lines for every job.
        SlurmctldDebug=error
        SlurmdDebug=error
        LogTimeFormat=iso8601_ms
        # One job per CPU, {cpus} CPUs: the same two slots on two cores as the product's own figure.
        SelectType=select/cons_tres
        SelectTypeParameters=CR_CPU
        # FIFO main scheduler alone, no backfill thread (there is nothing to backfill): bf_interval and the
        # other bf_ settings do not apply. The main scheduler runs on events (submission, a job's epilog done).
        SchedulerType=sched/builtin
        # batch_sched_delay=0: a submission is considered at the controller's next one-second pass, not after 3 s.
        # sched_interval=60 is the default full pass, unneeded as events drive scheduling; it is written before
        # sched_min_interval because sched/builtin takes the first "interval=" of this line as its own period and
        # would reject sched_min_interval's 0. sched_min_interval=0: no minimum gap between two scheduling passes.
        # No defer: with it every submission and job end would wait for the periodic pass.
        SchedulerParameters=batch_sched_delay=0,sched_interval=60,sched_min_interval=0
        # /bin/true is faster than no epilog: without one slurmd answers the end of a job with "already complete",
        # and slurmctld leaves the next start to its once-a-second background pass (2 jobs/s on 2 CPUs, measured);
        # with one, slurmd's epilog-complete message makes slurmctld schedule the next job at once.
        Epilog=/bin/true
        # Finds a job's processes by walking /proc: no cgroup.conf, no cgroups made on the host (proctrack/cgroup makes
        # one per job and leaves a slurm_<node> cgroup behind); both measured the same rate and CPU per job here.
        ProctrackType=proctrack/linuxproc
        # No CPU binding, no cgroup: nothing to do per task.
        TaskPlugin=task/none
        # No accounting storage (no slurmdbd), no sampling of the jobs' resources.
        AccountingStorageType=accounting_storage/none
        JobAcctGatherType=jobacct_gather/none
        # One line per finished job in a file the bench watches with inotify to see the last job end, instead of
        # polling squeue, which costs slurmctld the CPU and locks it is measured with.
        JobCompType=jobcomp/filetxt
        JobCompLoc={layout.JobCompLog}
        MpiDefault=none
        # No mail program is installed; this only silences an error at startup.
        MailProg=/bin/true
        # Room for one --array of all the jobs.
        MaxArraySize={maxArraySize}

        """;
}
