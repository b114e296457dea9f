using System.IO.Pipelines;
using Google.Protobuf;
using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Protocol;

/// <summary>Every framing rule on the reading side, fed through a real pipe in chosen pieces.</summary>
public sealed class MessageReaderTests
{
    private const int Max = 1024;

    [Fact]
    public async Task MessagesSplitAtEveryPossibleByte_AreReassembledIntact()
    {
        var first = new EchoRequest { Text = "first", Payload = ByteString.CopyFrom(new byte[40]) };
        var second = new EchoRequest { Text = "second ✓" };
        var bytes = Frames.Concat(Frames.Of(first), Frames.Of(second));

        for (var split = 1; split < bytes.Length; split++)
        {
            var pipe = new Pipe();
            var reader = Reader(pipe);
            await pipe.Writer.WriteAsync(bytes.AsMemory(0, split));
            var pending = reader.ReadAsync(CancellationToken.None);
            await pipe.Writer.WriteAsync(bytes.AsMemory(split));
            await pipe.Writer.CompleteAsync();

            Assert.Equal(first, await pending);
            Assert.Equal(second, await reader.ReadAsync(CancellationToken.None));
            Assert.Null(await reader.ReadAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task SeveralMessagesInOneRead_AreReturnedOneByOne()
    {
        var messages = Enumerable.Range(0, 5).Select(i => new EchoRequest { Text = $"m{i}", Count = i }).ToList();
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames.Concat(messages.Select(Frames.Of).ToArray()));
        await pipe.Writer.CompleteAsync();
        var reader = Reader(pipe);

        foreach (var expected in messages)
            Assert.Equal(expected, await reader.ReadAsync(CancellationToken.None));
        Assert.Null(await reader.ReadAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ZeroLengthMessage_IsAnEmptyMessage_NotTheEndOfTheStream()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames.Concat(Frames.Header(0), Frames.Of(new EchoRequest { Text = "after" })));
        await pipe.Writer.CompleteAsync();
        var reader = Reader(pipe);

        Assert.Equal(new EchoRequest(), await reader.ReadAsync(CancellationToken.None));
        Assert.Equal("after", (await reader.ReadAsync(CancellationToken.None))!.Text);
        Assert.Null(await reader.ReadAsync(CancellationToken.None));
    }

    [Fact]
    public async Task MessageOverTheLimit_ResourceExhaustedAsSoonAsItsHeaderArrives()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames.Header(Max + 1));

        var ex = await Assert.ThrowsAsync<RpcException>(() => Reader(pipe).ReadAsync(CancellationToken.None).AsTask());

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains($"{Max + 1} bytes, over the receive limit of {Max} bytes", ex.Detail);
    }

    [Fact]
    public async Task MessageOfExactlyTheLimit_IsAccepted()
    {
        var message = new EchoRequest { Payload = ByteString.CopyFrom(new byte[Max - 3]) };
        Assert.Equal(Max, message.CalculateSize());
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames.Of(message));

        Assert.Equal(message, await Reader(pipe).ReadAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(3)]   // inside the 5-byte header
    [InlineData(12)]  // inside the payload
    public async Task StreamEndingInsideAFrame_InternalSayingTheMessageWasTruncated(int keep)
    {
        var frame = Frames.Of(new EchoRequest { Text = "truncated on purpose" });
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(frame.AsMemory(0, keep));
        await pipe.Writer.CompleteAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => Reader(pipe).ReadAsync(CancellationToken.None).AsTask());

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains($"ended in the middle of a message ({keep} bytes", ex.Detail);
    }

    [Fact]
    public async Task CompressedFlag_InternalBecauseCompressionWasNeverNegotiated()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames.Concat(Frames.Header(2, compressed: 1), [0x0a, 0x00]));

        var ex = await Assert.ThrowsAsync<RpcException>(() => Reader(pipe).ReadAsync(CancellationToken.None).AsTask());

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains("compressed", ex.Detail);
    }

    [Fact]
    public async Task PayloadThatIsNotProtobuf_InternalNamingTheParseFailure()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames.Concat(Frames.Header(3), [0xff, 0xff, 0xff]));

        var ex = await Assert.ThrowsAsync<RpcException>(() => Reader(pipe).ReadAsync(CancellationToken.None).AsTask());

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.StartsWith("cannot parse the test message", ex.Detail);
    }

    private static MessageReader<EchoRequest> Reader(Pipe pipe) => new(pipe.Reader, EchoRequest.Parser, Max, "test");
}
