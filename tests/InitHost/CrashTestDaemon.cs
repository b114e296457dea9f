using Lcluster.Runtime;

namespace Lcluster.InitHost;

/// <summary>
/// For the leftover tests only: a stand-in daemon that starts one job and
/// waits to be SIGKILLed, so a test can reap what a crashed daemon leaves.
/// </summary>
internal static class CrashTestDaemon
{
    public const string Verb = "--crash-test-daemon";

    public static async Task<int> RunAsync(string workDirectory, string cgroupParent, string rootFs, string jobId)
    {
        var sandbox = new Sandbox(new SandboxOptions
        {
            InitProgram = Environment.ProcessPath!,
            WorkDirectory = workDirectory,
            CgroupParent = cgroupParent,
            PrestartedInits = 2,
        });
        var container = await sandbox.StartAsync(new SandboxSpec
        {
            JobId = jobId,
            RootFs = rootFs,
            Command = "sleep 1000 & sleep 1000 & echo running; wait",
            Hostname = "crash-test",
            StdoutPath = Path.Combine(workDirectory, jobId + ".out"),
            StderrPath = Path.Combine(workDirectory, jobId + ".err"),
        }, CancellationToken.None);
        Console.WriteLine($"job {container.Pid}");
        Console.Out.Flush();
        await Task.Delay(Timeout.Infinite); // until the test SIGKILLs this process
        return 0;
    }
}
