using Lcluster.Bench;
using Lcluster.TestSupport;

namespace Lcluster.Scale;

/// <summary>
/// `make scale`: the simulator (hollow nodes around a real etcd and real API nodes), then real daemons in network
/// namespaces; one table of figure / ours / target / verdict, as `make bench` prints. `Scale api-node …` is the
/// mode the simulator starts its API nodes in.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == ApiNode.Verb)
            return await ApiNode.RunAsync(args[1..]);
        ScaleArguments parsed;
        try
        {
            parsed = ScaleArguments.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"scale: {e.Message}");
            Console.Error.WriteLine("usage: Scale [--nodes N] [--jobs N] [--clients N] [--run-ms N] [--daemons N] [--daemon-jobs N] [--only simulator|daemons]");
            return 2;
        }
        // An interrupt (Ctrl-C, SIGTERM) cancels the run, whose clean-up then takes down what it made before the exit.
        using var interrupt = new Interrupt();
        try
        {
            return await RunAsync(parsed, interrupt.Token);
        }
        catch (Exception) when (interrupt.Requested)
        {
            // Whatever failed once interrupted (a call cancelled, a process the interrupt stopped too) failed because of it.
            Console.Error.WriteLine("scale: interrupted; its daemons, etcd and network namespaces are gone");
            return 130;
        }
    }

    private static async Task<int> RunAsync(ScaleArguments parsed, CancellationToken ct)
    {
        var table = new FigureTable();
        var failed = false;
        if (parsed.Only is null or "simulator")
        {
            try
            {
                var result = await Simulation.RunAsync(parsed.Simulation, line => Console.Error.WriteLine($"scale: {line}"), ct);
                table.AddRange(ScaleFigures.Of(result));
                failed |= !ScaleFigures.Sound(result);
                foreach (var line in result.Errors.Take(10))
                    Console.Error.WriteLine($"scale: a node logged: {line}");
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is IOException or InvalidOperationException or TimeoutException or Grpc.Core.RpcException or Etcd.EtcdException)
            {
                table.Add(new Figure("simulator", "failed", "", "", e.Message));
                failed = true;
            }
        }
        if (parsed.Only is null or "daemons")
        {
            try
            {
                var result = await RealDaemons.RunAsync(parsed.Daemons, line => Console.Error.WriteLine($"scale: {line}"), ct);
                table.AddRange(ScaleFigures.Of(result));
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is IOException or InvalidOperationException or TimeoutException or Grpc.Core.RpcException or Etcd.EtcdException)
            {
                table.Add(new Figure("real daemons", "failed", "", "", e.Message));
                failed = true;
            }
        }
        table.Print(Console.Out);
        return failed || table.AnyFailed ? 1 : 0;
    }
}

/// <summary>The command line of `make scale`.</summary>
internal sealed record ScaleArguments(SimulationSettings Simulation, DaemonsSettings Daemons, string? Only)
{
    public static ScaleArguments Parse(string[] args)
    {
        var simulation = new SimulationSettings();
        var daemons = new DaemonsSettings();
        string? only = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--nodes": simulation = simulation with { HollowNodes = Number(value) }; break;
                case "--jobs": simulation = simulation with { Jobs = Number(value) }; break;
                case "--clients": simulation = simulation with { Clients = Number(value) }; break;
                case "--run-ms": simulation = simulation with { RunTime = TimeSpan.FromMilliseconds(Number(value, 0)) }; break;
                case "--etcd-gogc": simulation = simulation with { EtcdGoGarbageTarget = value == "default" ? null : Number(value).ToString() }; break;
                case "--daemons": daemons = daemons with { Daemons = Number(value) }; break;
                case "--daemon-jobs": daemons = daemons with { Jobs = Number(value) }; break;
                case "--only" when value is "simulator" or "daemons": only = value; break;
                default: throw new ArgumentException($"unknown argument {args[i]} {value}");
            }
            i++;
        }
        return new ScaleArguments(simulation, daemons, only);
    }

    private static int Number(string value, int least = 1) =>
        int.TryParse(value, out var n) && n >= least ? n : throw new ArgumentException($"'{value}' is not a whole number from {least}");
}
