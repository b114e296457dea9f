using System.Runtime.InteropServices;

namespace Lcluster.TestSupport;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a cancellation, for a harness that must take down what it made (daemons, etcd,
/// network namespaces) before it exits: while this lives, neither signal ends the process, both cancel
/// <see cref="Token"/>. One call: <c>using var interrupt = new Interrupt(); await RunAsync(interrupt.Token);</c>.
/// </summary>
public sealed class Interrupt : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public Interrupt()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
    }

    public CancellationToken Token => _source.Token;

    public bool Requested => _source.IsCancellationRequested;

    private void Cancel(PosixSignalContext context)
    {
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _source.Dispose();
    }
}
