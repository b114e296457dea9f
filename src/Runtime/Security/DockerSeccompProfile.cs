namespace Lcluster.Runtime.Security;

/// <summary>
/// Docker's default seccomp profile, as data: moby's profiles/seccomp/default.json
/// at github.com/moby/profiles/seccomp v0.2.3, the version Docker Engine v29.7.2
/// vendors. Same entries, same order, same conditions; <see cref="SeccompFilter"/>
/// resolves the includes/excludes the way Docker does (Go architecture name,
/// the bounding capability set, the running kernel).
/// </summary>
internal static class DockerSeccompProfile
{
    /// <summary>"defaultAction": SCMP_ACT_ERRNO with "defaultErrnoRet": 1 — anything not listed fails with EPERM.</summary>
    public const int DefaultErrno = Native.Errno.EPERM;

    /// <summary>"archMap" for amd64: the filter also covers the i386 and x32 ABIs, so they cannot be used to go around it.</summary>
    public static readonly IReadOnlyList<string> Amd64SubArchitectures = ["x86", "x32"];

    public static readonly IReadOnlyList<SeccompRule> Rules =
    [
        new(SeccompVerdict.Allow, [
            "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
            "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
            "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
            "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
            "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
            "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
            "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
            "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
            "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
            "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
            "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
            "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
            "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
            "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
            "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
            "getxattr", "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
            "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
            "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
            "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount",
            "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat",
            "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
            "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
            "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
            "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
            "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
            "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
            "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
            "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
            "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
            "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
            "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
            "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
            "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
            "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
            "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
            "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
            "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
            "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
            "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
            "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
            "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
            "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
            "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
            "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
            "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
            "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill",
            "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime",
            "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
            "writev"]),
        new(SeccompVerdict.Allow, [
            "process_vm_readv", "process_vm_writev", "ptrace"])
        {
            Includes = new SeccompScope { MinKernel = new Version(4, 8) },
        },
        new(SeccompVerdict.Allow, [
            "socket"])
        {
            Arguments = [new(0, SeccompCompare.Less, 38)],
        },
        new(SeccompVerdict.Allow, [
            "socket"])
        {
            Arguments = [new(0, SeccompCompare.Equal, 39)],
        },
        new(SeccompVerdict.Allow, [
            "socket"])
        {
            Arguments = [new(0, SeccompCompare.Greater, 40)],
        },
        new(SeccompVerdict.Allow, [
            "personality"])
        {
            Arguments = [new(0, SeccompCompare.Equal, 0)],
        },
        new(SeccompVerdict.Allow, [
            "personality"])
        {
            Arguments = [new(0, SeccompCompare.Equal, 8)],
        },
        new(SeccompVerdict.Allow, [
            "personality"])
        {
            Arguments = [new(0, SeccompCompare.Equal, 0x20000)],
        },
        new(SeccompVerdict.Allow, [
            "personality"])
        {
            Arguments = [new(0, SeccompCompare.Equal, 0x20008)],
        },
        new(SeccompVerdict.Allow, [
            "personality"])
        {
            Arguments = [new(0, SeccompCompare.Equal, 0xFFFFFFFF)],
        },
        new(SeccompVerdict.Allow, [
            "sync_file_range2", "swapcontext"])
        {
            Includes = new SeccompScope { Arches = ["ppc64le"] },
        },
        new(SeccompVerdict.Allow, [
            "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"])
        {
            Includes = new SeccompScope { Arches = ["arm", "arm64"] },
        },
        new(SeccompVerdict.Allow, [
            "arch_prctl"])
        {
            Includes = new SeccompScope { Arches = ["amd64", "x32"] },
        },
        new(SeccompVerdict.Allow, [
            "modify_ldt"])
        {
            Includes = new SeccompScope { Arches = ["amd64", "x32", "x86"] },
        },
        new(SeccompVerdict.Allow, [
            "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"])
        {
            Includes = new SeccompScope { Arches = ["s390", "s390x"] },
        },
        new(SeccompVerdict.Allow, [
            "riscv_flush_icache"])
        {
            Includes = new SeccompScope { Arches = ["riscv64"] },
        },
        new(SeccompVerdict.Allow, [
            "open_by_handle_at"])
        {
            Includes = new SeccompScope { Caps = ["CAP_DAC_READ_SEARCH"] },
        },
        new(SeccompVerdict.Allow, [
            "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
            "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr", "move_mount",
            "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
            "syslog", "umount", "umount2", "unshare"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_ADMIN"] },
        },
        new(SeccompVerdict.Allow, [
            "clone"])
        {
            Arguments = [new(0, SeccompCompare.MaskedEqual, 0x7E020000)],
            Excludes = new SeccompScope { Arches = ["s390", "s390x"], Caps = ["CAP_SYS_ADMIN"] },
        },
        new(SeccompVerdict.Allow, [
            "clone"])
        {
            Arguments = [new(1, SeccompCompare.MaskedEqual, 0x7E020000)],
            Includes = new SeccompScope { Arches = ["s390", "s390x"] },
            Excludes = new SeccompScope { Caps = ["CAP_SYS_ADMIN"] },
            Comment = "s390 parameter ordering for clone is different",
        },
        new(SeccompVerdict.Errno, [
            "clone3"])
        {
            ErrnoRet = Native.Errno.ENOSYS,
            Excludes = new SeccompScope { Caps = ["CAP_SYS_ADMIN"] },
        },
        new(SeccompVerdict.Allow, [
            "reboot"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_BOOT"] },
        },
        new(SeccompVerdict.Allow, [
            "chroot"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_CHROOT"] },
        },
        new(SeccompVerdict.Allow, [
            "delete_module", "init_module", "finit_module"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_MODULE"] },
        },
        new(SeccompVerdict.Allow, [
            "acct"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_PACCT"] },
        },
        new(SeccompVerdict.Allow, [
            "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_PTRACE"] },
        },
        new(SeccompVerdict.Allow, [
            "iopl", "ioperm"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_RAWIO"] },
        },
        new(SeccompVerdict.Allow, [
            "settimeofday", "stime", "clock_settime", "clock_settime64"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_TIME"] },
        },
        new(SeccompVerdict.Allow, [
            "vhangup"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_TTY_CONFIG"] },
        },
        new(SeccompVerdict.Allow, [
            "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYS_NICE"] },
        },
        new(SeccompVerdict.Allow, [
            "syslog"])
        {
            Includes = new SeccompScope { Caps = ["CAP_SYSLOG"] },
        },
        new(SeccompVerdict.Allow, [
            "bpf"])
        {
            Includes = new SeccompScope { Caps = ["CAP_BPF"] },
        },
        new(SeccompVerdict.Allow, [
            "perf_event_open"])
        {
            Includes = new SeccompScope { Caps = ["CAP_PERFMON"] },
        },
    ];
}
