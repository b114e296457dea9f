using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Rpc;

/// <summary>
/// One call on the wire, seen from the server: reads request messages, writes responses, and
/// ends the call with the status the handler's outcome deserves (trailers, or trailers-only
/// when nothing was sent yet).
/// </summary>
internal sealed class ServerCall : IDisposable
{
    private enum EndReason { None, ClientGone, Deadline, Stopping }

    // CancellationTokenSource timers cannot go further; a longer deadline is only reported.
    private static readonly TimeSpan MaxLocalTimeout = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    private readonly HttpContext _http;
    private readonly GrpcServerOptions _options;
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationTokenSource? _deadline;
    private readonly CancellationTokenRegistration[] _registrations;
    private int _reason;
    private int _writing;
    private volatile bool _ended;

    public ServerCall(HttpContext http, GrpcServerOptions options, TimeSpan? timeout, CancellationToken stopping)
    {
        _http = http;
        _options = options;
        if (timeout is { } t && t < MaxLocalTimeout)
            _deadline = new CancellationTokenSource(t);
        _registrations =
        [
            http.RequestAborted.UnsafeRegister(static s => ((ServerCall)s!).Abort(EndReason.ClientGone), this),
            stopping.UnsafeRegister(static s => ((ServerCall)s!).Abort(EndReason.Stopping), this),
            _deadline?.Token.UnsafeRegister(static s => ((ServerCall)s!).Abort(EndReason.Deadline), this) ?? default,
        ];
        Context = new ServerCallContext(_cts.Token, timeout is { } d ? DateTimeOffset.UtcNow + d : null,
            Peer(http.Connection.RemoteIpAddress, http.Connection.RemotePort), http.Request.Path.Value ?? "");
    }

    public ServerCallContext Context { get; }

    /// <summary>Runs the handler's part of the call, then ends the call with the status its outcome deserves.</summary>
    public async Task RunAsync(Func<Task> body)
    {
        Status status;
        try
        {
            await body();
            status = Status.Ok;
        }
        catch (Exception ex)
        {
            status = StatusFor(ex);
        }
        _ended = true;
        Finish(status);
    }

    public MessageReader<T> CreateReader<T>(MessageParser<T> parser) where T : IMessage<T> =>
        new(_http.Request.BodyReader, parser, _options.MaxReceiveMessageSize, "request");

    public async Task<T> ReadSingleAsync<T>(MessageParser<T> parser) where T : IMessage<T>
    {
        var reader = CreateReader(parser);
        var request = await ReadAsync(reader, CancellationToken.None)
            ?? throw new RpcException(StatusCode.Internal, $"the client sent no request message to {Context.Method}");
        if (await ReadAsync(reader, CancellationToken.None) is not null)
            throw new RpcException(StatusCode.Internal, $"the client sent more than one request message to {Context.Method}");
        return request;
    }

    public async Task<T?> ReadAsync<T>(MessageReader<T> reader, CancellationToken cancellationToken) where T : IMessage<T>
    {
        using var linked = Link(cancellationToken);
        try
        {
            return await reader.ReadAsync(linked?.Token ?? _cts.Token);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw TransportFailure(ex, cancellationToken);
        }
    }

    public async Task WriteAsync(IMessage message, bool flush, CancellationToken cancellationToken)
    {
        if (_ended)
            throw new InvalidOperationException($"{Context.Method} has ended: write responses before the handler returns");
        if (Interlocked.Exchange(ref _writing, 1) == 1)
            throw new InvalidOperationException($"a write to {Context.Method} is already in progress: await each WriteAsync before the next");
        using var linked = Link(cancellationToken);
        var token = linked?.Token ?? _cts.Token;
        try
        {
            token.ThrowIfCancellationRequested();
            var response = _http.Response;
            if (!response.HasStarted)
                await response.StartAsync(token);
            MessageFraming.Write(response.BodyWriter, message, _options.MaxSendMessageSize, "response");
            if (flush)
            {
                var result = await response.BodyWriter.FlushAsync(token);
                if (result.IsCompleted)
                    throw new IOException("the response stream is closed");
                token.ThrowIfCancellationRequested();
            }
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw TransportFailure(ex, cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
        _deadline?.Dispose();
        _cts.Dispose();
    }

    private Status StatusFor(Exception ex)
    {
        if (ex is RpcException rpc)
            return new Status(rpc.StatusCode, rpc.Detail);
        switch ((EndReason)Volatile.Read(ref _reason))
        {
            case EndReason.Deadline:
                return new Status(StatusCode.DeadlineExceeded, $"{Context.Method} did not finish before its deadline");
            case EndReason.ClientGone:
                return new Status(StatusCode.Cancelled, "the client cancelled the call");
            case EndReason.Stopping:
                return new Status(StatusCode.Unavailable, "the server is stopping; retry on another node or later");
        }
        _options.Log?.Invoke($"{Context.Method} from {Context.Peer} failed: {ex.ToString().ReplaceLineEndings(" | ")}");
        return new Status(StatusCode.Internal, "internal error");
    }

    private void Finish(Status status)
    {
        if (Volatile.Read(ref _reason) == (int)EndReason.ClientGone || _http.RequestAborted.IsCancellationRequested)
            return;
        var response = _http.Response;
        if (!response.HasStarted)
        {
            // Trailers-only: the status rides in the only HEADERS frame, with END_STREAM.
            response.Headers[GrpcHeaders.Status] = StatusNumber(status.Code);
            if (status.Detail.Length > 0)
                response.Headers[GrpcHeaders.Message] = StatusText.Encode(status.Detail);
            return;
        }
        response.AppendTrailer(GrpcHeaders.Status, StatusNumber(status.Code));
        if (status.Detail.Length > 0)
            response.AppendTrailer(GrpcHeaders.Message, StatusText.Encode(status.Detail));
    }

    /// <summary>A read or write that failed: the call's own end reason, or else the client went away.</summary>
    private Exception TransportFailure(Exception ex, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested && !_cts.IsCancellationRequested)
            return new OperationCanceledException($"an operation on {Context.Method} was cancelled", ex, callerToken);
        if (!_cts.IsCancellationRequested && ex is IOException or ConnectionAbortedException or ObjectDisposedException)
            Abort(EndReason.ClientGone);
        return _cts.IsCancellationRequested
            ? new OperationCanceledException($"{Context.Method} was cancelled", ex, _cts.Token)
            : ex;
    }

    private CancellationTokenSource? Link(CancellationToken token) =>
        token.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(_cts.Token, token) : null;

    private void Abort(EndReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)EndReason.None) == (int)EndReason.None)
            _cts.Cancel();
    }

    private static string StatusNumber(StatusCode code) => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Peer(IPAddress? address, int port)
    {
        if (address is null)
            return "unknown";
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return address.AddressFamily == AddressFamily.InterNetworkV6 ? $"ipv6:[{address}]:{port}" : $"ipv4:{address}:{port}";
    }
}
