using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>
/// gRPC's length-prefixed message: a compressed flag byte (always 0 here, we never negotiate
/// compression), a 4-byte big-endian length, then the protobuf bytes.
/// </summary>
internal static class MessageFraming
{
    public const int HeaderSize = 5;

    /// <summary>The whole frame in a new array (client requests).</summary>
    public static byte[] ToFrame(IMessage message, int maxSize, string what)
    {
        var size = CheckSize(message, maxSize, what);
        var frame = new byte[HeaderSize + size];
        WriteHeader(frame, size);
        message.WriteTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    /// <summary>The frame written straight into a pipe (server responses).</summary>
    public static void Write(IBufferWriter<byte> writer, IMessage message, int maxSize, string what)
    {
        var size = CheckSize(message, maxSize, what);
        var span = writer.GetSpan(HeaderSize + size)[..(HeaderSize + size)];
        WriteHeader(span, size);
        message.WriteTo(span[HeaderSize..]);
        writer.Advance(HeaderSize + size);
    }

    public static void WriteHeader(Span<byte> destination, int length)
    {
        destination[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..HeaderSize], (uint)length);
    }

    private static int CheckSize(IMessage message, int maxSize, string what)
    {
        var size = message.CalculateSize();
        if (size > maxSize)
            throw new RpcException(StatusCode.ResourceExhausted,
                $"the {what} message is {size} bytes, over the send limit of {maxSize} bytes");
        return size;
    }
}
