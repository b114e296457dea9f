using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>
/// Reads length-prefixed messages from a pipe, whatever the reads' boundaries: a message split
/// across reads is reassembled, several in one read are returned one by one.
/// </summary>
internal sealed class MessageReader<T>(PipeReader pipe, MessageParser<T> parser, int maxSize, string what)
    where T : IMessage<T>
{
    /// <summary>The next message, or null at a clean end of the stream (between messages).</summary>
    public async ValueTask<T?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await pipe.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (TryParse(ref buffer, out var message))
            {
                pipe.AdvanceTo(buffer.Start);
                return message;
            }
            if (result.IsCompleted)
            {
                pipe.AdvanceTo(buffer.End);
                if (buffer.IsEmpty)
                    return default;
                throw new RpcException(StatusCode.Internal,
                    $"the {what} stream ended in the middle of a message ({buffer.Length} bytes of a frame)");
            }
            if (result.IsCanceled)
                throw new OperationCanceledException($"reading the {what} stream was cancelled");
            // Keep what we have and wait for more: examined = end, consumed = start.
            pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool TryParse(ref ReadOnlySequence<byte> buffer, out T? message)
    {
        message = default;
        if (buffer.Length < MessageFraming.HeaderSize)
            return false;

        Span<byte> header = stackalloc byte[MessageFraming.HeaderSize];
        buffer.Slice(0, MessageFraming.HeaderSize).CopyTo(header);
        if (header[0] != 0)
            throw new RpcException(StatusCode.Internal, header[0] == 1
                ? $"received a compressed {what} message, but compression was never negotiated"
                : $"received a {what} message with an invalid compressed flag {header[0]}");
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxSize)
            throw new RpcException(StatusCode.ResourceExhausted,
                $"the {what} message is {length} bytes, over the receive limit of {maxSize} bytes");
        if (buffer.Length < MessageFraming.HeaderSize + length)
            return false;

        var payload = buffer.Slice(MessageFraming.HeaderSize, length);
        try
        {
            message = parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(StatusCode.Internal, $"cannot parse the {what} message: {ex.Message}", ex);
        }
        buffer = buffer.Slice(payload.End);
        return true;
    }
}
