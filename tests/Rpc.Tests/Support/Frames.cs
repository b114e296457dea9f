using Google.Protobuf;

namespace Lcluster.Rpc.Tests.Support;

/// <summary>Hand-made gRPC frames, so tests control every byte on the wire.</summary>
internal static class Frames
{
    public static byte[] Of(IMessage message) => Header(message.CalculateSize()).Concat(message.ToByteArray()).ToArray();

    public static byte[] Header(int length, byte compressed = 0) =>
        [compressed, (byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length];

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
