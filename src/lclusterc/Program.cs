using Grpc.Core;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>
/// lclusterc: adds, checks, lists and removes jobs on an lcluster.
/// Exit codes: 0 success; 1 the server refused or failed; 2 usage error;
/// 3 no such job; 4 cannot reach the server (or, with --wait, the job's own
/// exit code).
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        Invocation invocation;
        try
        {
            invocation = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (UsageException e)
        {
            Say(e.Message);
            Console.Error.WriteLine("Try 'lclusterc --help'.");
            return ExitCodes.Usage;
        }
        if (invocation.Verb == Verb.Help)
        {
            Console.Out.Write(Usage.Text());
            return ExitCodes.Ok;
        }
        if (invocation.Verb == Verb.Version)
        {
            Console.Out.WriteLine($"lclusterc {typeof(Program).Assembly.GetName().Version}");
            return ExitCodes.Ok;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            var tls = invocation.Tls is var (ca, cert, key) ? TlsIdentity.Load(ca, cert, key).ClientOptions() : null;
            using var channel = NodeChannel.Open(invocation.Server, tls);
            var commands = new Commands(new Lclusterd.LclusterdClient(channel), Console.Out, Console.Error);
            return await commands.RunAsync(invocation, cancel.Token);
        }
        catch (InvalidOperationException e)
        {
            Say(e.Message);
            return ExitCodes.Failed;
        }
        catch (Exception e) when (e is UsageException or ArgumentException)
        {
            Say(e.Message);
            return ExitCodes.Usage;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("lclusterc: interrupted");
            return 130;
        }
        catch (RpcException e)
        {
            return Report(invocation, e);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("lclusterc: interrupted");
            return 130;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Say(e.Message);
            return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// An error on stderr, escaped: its text may hold what a job or the server chose (an artifact's name in a path,
    /// a server's detail), which must not reach the terminal as control sequences.
    /// </summary>
    private static void Say(string message) => Console.Error.WriteLine($"lclusterc: {PrintableText.Escape(message)}");

    private static int Report(Invocation invocation, RpcException e)
    {
        switch (e.StatusCode)
        {
            case StatusCode.NotFound:
                Say(e.Status.Detail);
                return ExitCodes.NoSuchJob;
            case StatusCode.Cancelled when TransportFailure.IsTransport(e):
                Say($"the connection to lclusterd at {invocation.Server} broke: {TransportFailure.Cause(e)}");
                return ExitCodes.Unreachable;
            case var _ when TransportFailure.IsTransport(e):
                // Refused, reset, or answered in something other than HTTP/2 (a TLS port called in plain text,
                // another server): whichever the transport saw first, lclusterd could not be reached.
                Say($"cannot reach lclusterd at {invocation.Server}: {TransportFailure.Cause(e)}{TlsHint(invocation, e)}");
                return ExitCodes.Unreachable;
            case StatusCode.DeadlineExceeded:
                Say($"lclusterd at {invocation.Server} did not answer in time");
                return ExitCodes.Failed;
            default:
                Say(e.Status.Detail.Length > 0 ? e.Status.Detail : e.StatusCode.ToString());
                return ExitCodes.Failed;
        }
    }

    /// <summary>A node's TCP address speaks only TLS: a plain call there connects and then gets no HTTP/2 back.</summary>
    private static string TlsHint(Invocation invocation, RpcException e) =>
        invocation.Tls is null && !invocation.Server.StartsWith(NodeChannel.UnixScheme, StringComparison.Ordinal) && !TransportFailure.NoConnection(e)
            ? $" (a node's TCP address takes mutual TLS: give {ClientFlags.CaCert.Name}, {ClientFlags.Cert.Name} and {ClientFlags.Key.Name})"
            : "";
}

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int NoSuchJob = 3;
    public const int Unreachable = 4;
}
