using Lcluster.Client;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>lclusterc's command line, parsed in-process: the rules of docs/spec.md ("lclusterc") without a daemon.</summary>
public sealed class ClientFlagTests
{
    private static readonly string LocalSocket = NodeChannel.UnixScheme + NodeChannel.DefaultSocket;

    private static Invocation Parse(params string[] args) => CommandLine.Parse(args, _ => null);

    private static Func<string, string?> Server(string value) => name => name == ClientFlags.ServerVariable ? value : null;

    private static string Refused(params string[] args) => Assert.Throws<UsageException>(() => Parse(args)).Message;

    [Fact]
    public void A_value_may_follow_its_flag_after_an_equals_sign_or_as_the_next_argument()
    {
        var joined = Parse("--addjob=echo hi", "--name=web", "--memory=64M", "--cpus=0.5", "--pids=64", "--time=1m30s",
            "--env=A=1", "--stdin=-", "--retries=3", "--priority=-7", "--wait", "--server=10.0.0.1:5");
        var separate = Parse("--addjob", "echo hi", "--name", "web", "--memory", "64M", "--cpus", "0.5", "--pids", "64", "--time", "1m30s",
            "--env", "A=1", "--stdin", "-", "--retries", "3", "--priority", "-7", "--wait", "--server", "10.0.0.1:5");

        Assert.Equal(joined, separate with { AddJob = joined.AddJob });
        Assert.Equal(joined.AddJob, separate.AddJob);
        Assert.Equal(new AddJobRequest
        {
            Command = "echo hi", Name = "web", Env = { ["A"] = "1" }, Retries = 3, Priority = -7,
            Limits = new Limits { MemoryBytes = 64L << 20, Cpus = 0.5, Pids = 64, TimeSeconds = 90 },
        }, joined.AddJob);
        Assert.Equal(new Invocation(Verb.AddJob, "10.0.0.1:5", Json: false) { AddJob = joined.AddJob, StdinFile = "-", Wait = true }, joined);
    }

    [Fact]
    public void Options_left_out_take_their_defaults_from_the_definitions()
    {
        var added = Parse("--addjob=true");

        Assert.Equal(LocalSocket, added.Server);
        Assert.Equal(ClientFlags.Retries.Default, added.AddJob.Retries);
        Assert.Equal(ClientFlags.Priority.Default, added.AddJob.Priority);
        Assert.Equal(new Limits(), added.AddJob.Limits);
        Assert.Null(added.StdinFile);
        Assert.False(added.Wait);
    }

    [Fact]
    public void Every_command_flag_selects_its_verb()
    {
        Assert.Equal(Verb.CheckJob, Parse("--checkjob", "abc").Verb);
        Assert.Equal("abc", Parse("--removejob=abc").JobId);
        Assert.Equal(new Invocation(Verb.Output, LocalSocket, false) { JobId = "abc", Stderr = true, Follow = true },
            Parse("--output=abc", "--stderr", "--follow"));
        Assert.Equal(new Invocation(Verb.ListJobs, LocalSocket, true) { StateFilter = JobState.Failed, Limit = 2 },
            Parse("--listjobs", "--json", "--state", "FAILED", "--limit", "2"));
        Assert.Equal(Verb.Nodes, Parse("--nodes").Verb);
        Assert.Equal(Verb.Help, Parse("-h").Verb);
        Assert.Equal(Verb.Help, Parse("--help").Verb);
        Assert.Equal(Verb.Version, Parse("--version").Verb);
    }

    [Fact]
    public void Env_is_repeatable_and_a_later_value_of_one_name_wins()
    {
        var added = Parse("--addjob=env", "--env=A=1", "--env", "B=x=y", "--env=A=2");

        Assert.Equal(new Dictionary<string, string> { ["A"] = "2", ["B"] = "x=y" }, added.AddJob.Env);
    }

    [Fact]
    public void Input_and_artifact_are_repeatable_artifacts_take_one_spelling_and_download_takes_a_destination()
    {
        var added = Parse("--addjob=true", "--input=a", "--input", "b dir", "--artifact=./out//*.txt", "--artifact=logs/");

        Assert.Equal(["a", "b dir"], added.Inputs);
        Assert.Equal(["out/*.txt", "logs"], added.AddJob.Artifacts);
        Assert.Equal(new Invocation(Verb.Download, LocalSocket, false) { JobId = "abc", To = "dir" }, Parse("--download=abc", "--to=dir"));
        Assert.Null(Parse("--download=abc").To);
        Assert.Equal("--artifact: artifact '../x' climbs with '..': nothing outside /work can be reached", Refused("--addjob=true", "--artifact=../x"));
    }

    [Theory]
    [InlineData("--name")]
    [InlineData("--wait")]
    [InlineData("--retries")]
    public void A_flag_given_twice_is_refused(string flag)
    {
        var value = flag == "--wait" ? [flag] : new[] { flag + "=1" };

        Assert.Equal($"{flag} given twice", Refused(["--addjob=true", .. value, .. value]));
    }

    [Fact]
    public void A_command_given_twice_is_refused_as_such_and_two_commands_are_named_in_order()
    {
        Assert.Equal("--nodes given twice", Refused("--nodes", "--nodes"));
        Assert.Equal("one command at a time, not --nodes and --checkjob", Refused("--nodes", "--json", "--checkjob=x"));
        Assert.Equal("no command: give one of --addjob, --checkjob, --removejob, --listjobs, --output, --download, --nodes, --dashboard", Refused("--json"));
    }

    public static TheoryData<string, string> OptionsWithTheWrongCommand()
    {
        var data = new TheoryData<string, string>();
        foreach (var command in ClientFlags.Commands)
        {
            foreach (var option in ClientFlags.Commands.SelectMany(c => c.Options).Distinct().Except(command.Options))
                data.Add(command.Flag.Name, option.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(OptionsWithTheWrongCommand))]
    public void An_option_with_a_command_that_does_not_take_it_is_refused(string command, string option)
    {
        var commandArgs = command is "--addjob" or "--checkjob" or "--removejob" or "--output" or "--download" ? new[] { command, "x" } : [command];
        var optionFlag = ClientFlags.All.Flags.Single(f => f.Name == option);
        var optionArgs = optionFlag.IsSwitch ? new[] { option } : [option, option == "--env" ? "A=1" : "1"];

        Assert.Equal($"{option} does not go with {command}", Refused([.. commandArgs, .. optionArgs]));
    }

    [Fact]
    public void Server_goes_with_every_command_and_wins_over_the_environment()
    {
        foreach (var command in new[] { "--nodes", "--listjobs", "--help", "--version" })
            Assert.Equal("h:1", CommandLine.Parse([command, "--server=h:1"], Server("env:2")).Server);
        Assert.Equal("env:2", CommandLine.Parse(["--nodes"], Server("env:2")).Server);
        Assert.Equal(NodeChannel.UnixScheme + NodeChannel.DefaultSocket, CommandLine.Parse(["--nodes"], Server("  ")).Server);
    }

    [Fact]
    public void Certificates_from_the_environment_are_for_a_host_and_port_not_for_the_local_socket()
    {
        // Exported once for a remote cluster, they must not make every local call read (possibly stale) files.
        string? Environment(string name) => name switch
        {
            "LCLUSTER_CACERT" => "/nonexistent/ca.crt",
            "LCLUSTER_CERT" => "/nonexistent/user.crt",
            "LCLUSTER_KEY" => "/nonexistent/user.key",
            _ => null,
        };

        Assert.Null(CommandLine.Parse(["--nodes"], Environment).Tls);
        Assert.Null(CommandLine.Parse(["--nodes", "--server=unix:/run/x.sock"], Environment).Tls);
        Assert.Equal(("/nonexistent/ca.crt", "/nonexistent/user.crt", "/nonexistent/user.key"), CommandLine.Parse(["--nodes", "--server=h:1"], Environment).Tls);
    }

    [Fact]
    public void An_empty_value_is_a_missing_one_and_never_takes_the_next_flag()
    {
        Assert.Equal("--server needs a value: --server=ADDRESS", Refused("--server=", "--nodes"));
        Assert.Equal("--checkjob needs a value: --checkjob=UUID", Refused("--checkjob="));
        Assert.Equal("--checkjob needs a value: --checkjob=UUID", Refused("--checkjob", ""));
        Assert.Equal("--checkjob needs a value: --checkjob=UUID", Refused("--checkjob"));
        Assert.Equal("--env needs a value: --env=K=V", Refused("--addjob=true", "--env=A=1", "--env"));
    }

    [Fact]
    public void A_command_may_begin_with_a_dash_when_it_is_the_flags_value()
    {
        Assert.Equal("-x", Parse("--addjob", "-x").AddJob.Command);
        Assert.Equal("--wait", Parse("--addjob=--wait").AddJob.Command);
        Assert.Equal(-5, Parse("--addjob=true", "--priority", "-5").AddJob.Priority);
    }

    [Fact]
    public void Unknown_flags_stray_words_and_values_given_to_switches_are_refused_by_name()
    {
        Assert.Equal("unknown flag '--bogus'", Refused("--nodes", "--bogus=1"));
        Assert.Equal("unknown flag '-x'", Refused("--nodes", "-x"));
        Assert.Equal("unexpected argument 'extra'", Refused("--checkjob=a", "extra"));
        Assert.Equal("unexpected argument '--'", Refused("--nodes", "--"));
        Assert.Equal("unexpected argument '@args.txt'", Refused("--nodes", "@args.txt"));
        Assert.Equal("--wait takes no value", Refused("--addjob=true", "--wait=yes"));
        Assert.Equal("--json takes no value", Refused("--nodes", "--json="));
        Assert.Equal("unexpected argument 'true'", Refused("--addjob=true", "--wait", "true"));
    }

    [Fact]
    public void Retries_and_priority_are_bounded_by_the_limits_the_daemon_enforces()
    {
        Assert.Equal(RequestBounds.MaxRetries, Parse("--addjob=true", $"--retries={RequestBounds.MaxRetries}").AddJob.Retries);
        Assert.Equal(-RequestBounds.MaxPriority, Parse("--addjob=true", $"--priority={-RequestBounds.MaxPriority}").AddJob.Priority);
        Assert.Equal($"--retries: '{RequestBounds.MaxRetries + 1}' is not a whole number from 0 to {RequestBounds.MaxRetries}",
            Refused("--addjob=true", $"--retries={RequestBounds.MaxRetries + 1}"));
        Assert.Equal($"--priority: '{RequestBounds.MaxPriority + 1}' is not a whole number from {-RequestBounds.MaxPriority} to {RequestBounds.MaxPriority}",
            Refused("--addjob=true", $"--priority={RequestBounds.MaxPriority + 1}"));
    }

    [Theory]
    [InlineData("--memory=lots", "--memory: 'lots' is not a size")]
    [InlineData("--cpus=-1", "--cpus: '-1' is not a positive number of cores")]
    [InlineData("--time=0", "--time: '0' must be more than zero")]
    [InlineData("--time=soon", "--time: 'soon' is not a duration")]
    [InlineData("--memory=\u0663M", "--memory: '\u0663M' is not a size")] // an Arabic-Indic three: a digit, not an ASCII one
    [InlineData("--time=\u0663s", "--time: '\u0663s' is not a duration")]
    [InlineData("--pids=x", "--pids: 'x' is not a whole number from 1 to")]
    [InlineData("--env=A", "--env: 'A' is not KEY=VALUE")]
    public void A_bad_value_is_refused_naming_the_flag_and_the_form_it_wants(string option, string message)
    {
        Assert.StartsWith(message, Refused("--addjob=true", option));
    }

    [Fact]
    public void A_bad_state_lists_every_state()
    {
        Assert.Equal("--state: 'done' is not a job state; use one of queued, scheduled, running, succeeded, failed, cancelled, lost",
            Refused("--listjobs", "--state=done"));
    }

    [Fact]
    public void Help_lists_every_flag_with_its_value_name_and_default_from_the_definitions()
    {
        var help = Usage.Text();
        var rows = help.Split('\n');

        foreach (var flag in ClientFlags.All.Flags)
        {
            var row = Assert.Single(rows, r => r.StartsWith("  " + flag.Spelling + " ", StringComparison.Ordinal)
                                             || r.StartsWith("  " + flag.Spelling + ",", StringComparison.Ordinal));
            if (flag.DefaultText is { } shown)
                Assert.Contains($"(default: {shown})", string.Join(" ", rows.SkipWhile(r => r != row).Take(3).Select(r => r.Trim())));
        }
        Assert.Contains($"(default: ${ClientFlags.ServerVariable}, else the local node's socket, {LocalSocket})", string.Join(" ", rows.Select(r => r.Trim())));
        Assert.Contains($"at most {RequestBounds.MaxRetries}", help);
        Assert.Contains($"{Units.FormatBytes(RequestBounds.MaxStdinBytes)} at most", help);
        Assert.Contains("with --checkjob, --listjobs, --nodes: machine-readable output", help);
    }
}
