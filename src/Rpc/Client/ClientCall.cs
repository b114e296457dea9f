using System.IO.Pipelines;
using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>
/// One call on the wire, seen from the client: sends the request, reads messages and the final
/// status, and turns each way a call can end (status, deadline, cancel, dispose, broken
/// connection) into the one exception the caller sees.
/// </summary>
internal sealed class ClientCall<TResponse> : IAsyncStreamReader<TResponse>, IRequestStream, IAsyncDisposable
    where TResponse : IMessage<TResponse>
{
    private enum EndReason { None, Caller, Deadline, Disposed, Failed }

    // CancellationTokenSource timers cannot go further; a longer timeout is only sent to the server.
    private static readonly TimeSpan MaxLocalTimeout = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    private readonly GrpcChannel _channel;
    private readonly string _method;
    private readonly MessageParser<TResponse> _parser;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationTokenSource? _deadline;
    private readonly CancellationTokenRegistration _deadlineRegistration;
    private readonly CancellationTokenRegistration _callerRegistration;
    private Task<HttpResponseMessage> _send = null!;
    private HttpResponseMessage? _response;
    private DuplexRequestContent? _content;
    private PipeReader? _pipe;
    private MessageReader<TResponse>? _reader;
    private int _reason;
    private volatile bool _finished;
    private Exception? _failure;
    private int _writing;
    private bool _halfClosed;

    public ClientCall(GrpcChannel channel, string method, MessageParser<TResponse> parser, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _parser = parser;
        _options = options;
        if (options.Timeout is { } timeout)
        {
            if (timeout <= TimeSpan.Zero)
            {
                Abort(EndReason.Deadline);
            }
            else if (timeout < MaxLocalTimeout)
            {
                _deadline = new CancellationTokenSource(timeout);
                _deadlineRegistration = _deadline.Token.UnsafeRegister(
                    static s => ((ClientCall<TResponse>)s!).Abort(EndReason.Deadline), this);
            }
        }
        if (options.CancellationToken.CanBeCanceled)
            _callerRegistration = options.CancellationToken.UnsafeRegister(
                static s => ((ClientCall<TResponse>)s!).Abort(EndReason.Caller), this);
    }

    public TResponse Current { get; private set; } = default!;

    public void Start(HttpContent content)
    {
        _content = content as DuplexRequestContent;
        try
        {
            _cts.Token.ThrowIfCancellationRequested();
            var request = _channel.CreateRequest(_method, content, _options.Timeout);
            _send = _channel.Invoker.SendAsync(request, _cts.Token);
        }
        catch (Exception ex)
        {
            _send = Task.FromException<HttpResponseMessage>(ex);
        }
        // A call disposed before anyone awaited the response must not leave an unobserved fault.
        _send.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (_cts.IsCancellationRequested)
            _content?.Abort();
    }

    public async Task<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        if (_failure != null)
            throw _failure;
        if (_finished)
            return false;
        using var registration = RegisterCaller(cancellationToken);
        try
        {
            if (_reader is null)
            {
                var response = await _send;
                Volatile.Write(ref _response, response);
                if (_cts.IsCancellationRequested)
                    response.Dispose();
                if (ResponseStatus.FromHeaders(response, _channel.Target) is { } early)
                    return Finish(early);
                var body = await response.Content.ReadAsStreamAsync(_cts.Token);
                _pipe = PipeReader.Create(body);
                _reader = new MessageReader<TResponse>(_pipe, _parser, _channel.Options.MaxReceiveMessageSize, "response");
            }
            var message = await _reader.ReadAsync(_cts.Token);
            if (message is not null)
            {
                Current = message;
                return true;
            }
            return Finish(ResponseStatus.FromTrailers(_response!));
        }
        catch (Exception ex) when (!_finished)
        {
            throw Fail(ex, cancellationToken);
        }
    }

    public async Task WriteAsync(IMessage message, CancellationToken cancellationToken)
    {
        var content = _content ?? throw new InvalidOperationException($"{_method} has no request stream");
        if (_halfClosed)
            throw new InvalidOperationException($"cannot write to {_method} after CompleteAsync");
        if (_failure != null)
            throw _failure;
        if (_finished)
            throw new InvalidOperationException($"{_method} has ended with status OK: nothing more can be written");
        var frame = MessageFraming.ToFrame(message, _channel.Options.MaxSendMessageSize, "request");
        if (Interlocked.Exchange(ref _writing, 1) == 1)
            throw new InvalidOperationException($"a write to {_method} is already in progress: await each WriteAsync before the next");
        try
        {
            using var registration = RegisterCaller(cancellationToken);
            var stream = await RequestStreamAsync(content);
            await stream.WriteAsync(frame, _cts.Token);
            await stream.FlushAsync(_cts.Token);
        }
        catch (Exception ex)
        {
            throw await WriteFailureAsync(ex, cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    public Task CompleteAsync()
    {
        var content = _content ?? throw new InvalidOperationException($"{_method} has no request stream");
        if (Volatile.Read(ref _writing) == 1)
            throw new InvalidOperationException($"cannot half-close {_method} while a write is in progress");
        _halfClosed = true;
        content.Complete();
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (!_finished)
            Abort(EndReason.Disposed);
        // The pipe is left to the reader: a read may still be unwinding on another thread.
        Release(completePipe: false);
        _deadline?.Dispose();
        return ValueTask.CompletedTask;
    }

    private CancellationTokenRegistration RegisterCaller(CancellationToken token) => token.CanBeCanceled
        ? token.UnsafeRegister(static s => ((ClientCall<TResponse>)s!).Abort(EndReason.Caller), this)
        : default;

    private async Task<Stream> RequestStreamAsync(DuplexRequestContent content)
    {
        var stream = content.Stream;
        if (!stream.IsCompleted)
        {
            await Task.WhenAny(stream, _send).WaitAsync(_cts.Token);
            if (!stream.IsCompleted)
            {
                var response = await _send;
                throw ResponseStatus.FromHeaders(response, _channel.Target) is { Code: not StatusCode.OK } status
                    ? status.ToException()
                    : new RpcException(StatusCode.Internal, $"{_channel.Target} answered {_method} before reading the request");
            }
        }
        return await stream;
    }

    private async Task<Exception> WriteFailureAsync(Exception ex, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested || Volatile.Read(ref _reason) != (int)EndReason.None
            || !_send.IsCompletedSuccessfully)
            return Fail(ex, cancellationToken);
        if (ex is RpcException rpc)
            return rpc;
        // The server ended the call while we were writing: its status says why.
        var response = await _send;
        return ResponseStatus.FromHeaders(response, _channel.Target) is { Code: not StatusCode.OK } status
            ? status.ToException()
            : new RpcException(StatusCode.Unavailable,
                $"{_channel.Target} stopped reading {_method}; the response stream carries the call's status", ex);
    }

    private bool Finish(Status status)
    {
        _finished = true;
        Release(completePipe: true);
        if (status.Code == StatusCode.OK)
            return false;
        _failure = status.ToException();
        throw _failure;
    }

    private Exception Fail(Exception ex, CancellationToken cancellationToken)
    {
        var target = _channel.Target;
        Exception failure = cancellationToken.IsCancellationRequested
            ? new OperationCanceledException($"{_method} on {target} was cancelled", ex, cancellationToken)
            : (EndReason)Volatile.Read(ref _reason) switch
            {
                EndReason.Caller => new OperationCanceledException($"{_method} on {target} was cancelled", ex, _options.CancellationToken),
                EndReason.Deadline => new RpcException(StatusCode.DeadlineExceeded,
                    $"{_method} on {target} did not finish within {_options.Timeout?.TotalSeconds:0.###} s", ex),
                EndReason.Disposed => new RpcException(StatusCode.Cancelled, $"{_method} on {target} was disposed before it ended", ex),
                _ => ex as RpcException ?? TransportErrors.ToRpcException(ex, target, _channel.Options.ConnectTimeout),
            };
        _failure = failure;
        _finished = true;
        Abort(EndReason.Failed);
        Release(completePipe: true);
        return failure;
    }

    // Resets the stream (RST_STREAM) and wakes every pending read and write.
    private void Abort(EndReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)EndReason.None) != (int)EndReason.None)
            return;
        _cts.Cancel();
        Volatile.Read(ref _response)?.Dispose();
        _content?.Abort();
    }

    private void Release(bool completePipe)
    {
        _deadlineRegistration.Dispose();
        _callerRegistration.Dispose();
        _content?.Abort();
        Volatile.Read(ref _response)?.Dispose();
        if (completePipe)
            _pipe?.Complete();
    }
}
