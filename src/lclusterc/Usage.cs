namespace Lcluster.Client;

internal static class Usage
{
    public const string Text = """
        usage: lclusterc COMMAND [OPTIONS]

        Commands:
          --addjob='CMD'        queue CMD (run as /bin/sh -c CMD); prints the job's UUID
          --checkjob=UUID       the job's state and details
          --removejob=UUID      cancel a queued or running job; delete a finished one
          --listjobs            jobs, newest first
          --output=UUID         the job's captured stdout
          --nodes               live nodes, which is prime, slots used/free

        Options of --addjob:
          --name=NAME           a name for the job
          --memory=SIZE         memory limit, e.g. 64M, 2G
          --cpus=N              CPU limit in cores, e.g. 0.5
          --pids=N              most processes and threads at once
          --time=DURATION       wall-clock limit, e.g. 10s, 5m, 1h30m
          --env=K=V             environment variable (repeatable)
          --stdin=FILE|-        feed FILE (or this program's stdin) to the job (1 MiB at most)
          --retries=N           run again (up to N times) if its node dies under it
          --priority=N          higher runs first (default 0)
          --wait                wait for the end, copy its stdout/stderr, exit with its exit code

        Other options:
          --json                machine-readable output (--checkjob, --listjobs, --nodes)
          --state=STATE         with --listjobs: only jobs in STATE (queued, scheduled,
                                running, succeeded, failed, cancelled, lost)
          --limit=N             with --listjobs: at most N jobs
          --stderr              with --output: stderr instead of stdout
          --follow              with --output: stream until the job ends
          --server=HOST:PORT    the node to talk to (also LCLUSTER_SERVER); default 127.0.0.1:64051

        Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 no such job, 4 cannot reach
        the server; with --wait, the job's exit code (128+N when killed by signal N).

        """;
}
