using System.Globalization;
using Lcluster.TestSupport;
using Lcluster.TestSupport.Chaos;

// make chaos [SEED=n] [DURATION=10m] [JOBS=2000] [DAEMONS=5] [KEEP=dir]: see docs/testing.md.
var options = new ChaosOptions { Seed = Random.Shared.Next(1, 1_000_000), Log = line => Console.WriteLine(line) };
foreach (var arg in args)
{
    var (name, value) = arg.Split('=', 2) is [var n, var v] ? (n, v) : (arg, "");
    if (value.Length == 0)
        continue; // an empty make variable: keep the default
    options = name switch
    {
        "--seed" => options with { Seed = int.Parse(value, CultureInfo.InvariantCulture) },
        "--duration" => options with { Duration = Duration(value) },
        "--jobs" => options with { Jobs = int.Parse(value, CultureInfo.InvariantCulture) },
        "--daemons" => options with { Daemons = int.Parse(value, CultureInfo.InvariantCulture) },
        "--keep" => options with { KeepDir = Path.GetFullPath(value) },
        _ => throw new ArgumentException($"unknown argument {arg}: use --seed=N --duration=10m --jobs=N --daemons=N --keep=DIR"),
    };
}
Console.WriteLine($"chaos: seed {options.Seed} (make chaos SEED={options.Seed} replays this schedule)");
// An interrupt (Ctrl-C, SIGTERM) ends the run early, and the run takes down what it made before the program exits.
using var interrupt = new Interrupt();
ChaosReport report;
try
{
    report = await ChaosRun.RunAsync(options, interrupt.Token);
}
catch (OperationCanceledException) when (interrupt.Requested)
{
    Console.WriteLine($"chaos: interrupted; its daemons, etcd members and network namespaces are gone (seed {options.Seed})");
    return 130;
}
Console.WriteLine(report.Summary());
return report.Violations.Count == 0 ? 0 : 1;

static TimeSpan Duration(string text) => text[^1] switch
{
    's' => TimeSpan.FromSeconds(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
    'm' => TimeSpan.FromMinutes(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
    'h' => TimeSpan.FromHours(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
    _ => TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture)),
};
