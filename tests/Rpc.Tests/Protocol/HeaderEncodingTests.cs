namespace Lcluster.Rpc.Tests.Protocol;

/// <summary>grpc-message percent-encoding and grpc-timeout, both directions.</summary>
public sealed class HeaderEncodingTests
{
    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("100% done", "100%25 done")]
    [InlineData("ジョブ", "%E3%82%B8%E3%83%A7%E3%83%96")]
    [InlineData("line\nbreak", "line%0Abreak")]
    public void StatusText_EncodesOutsidePrintableAsciiAndPercent(string text, string wire)
    {
        Assert.Equal(wire, StatusText.Encode(text));
        Assert.Equal(text, StatusText.Decode(wire));
    }

    [Fact]
    public void StatusText_EveryCharacterRoundTrips()
    {
        var text = "échec: ジョブ 🚀 (100%) \t\r\n\u0001 ~ end";
        Assert.Equal(text, StatusText.Decode(StatusText.Encode(text)));
        Assert.All(StatusText.Encode(text), c => Assert.InRange(c, ' ', '~'));
    }

    [Theory]
    [InlineData("50% off", "50% off")]
    [InlineData("bad %zz sequence", "bad %zz sequence")]
    [InlineData("ends with %4", "ends with %4")]
    public void StatusText_MalformedPercentSequencesAreKeptAsTheyAre(string wire, string text) =>
        Assert.Equal(text, StatusText.Decode(wire));

    [Theory]
    [InlineData(1, "1000u")]
    [InlineData(250, "250000u")]
    [InlineData(30_000, "30000000u")]
    [InlineData(3_600_000, "3600000m")]
    public void GrpcTimeout_UsesTheFinestUnitThatFitsInEightDigits(int milliseconds, string wire) =>
        Assert.Equal(wire, GrpcTimeout.Encode(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public void GrpcTimeout_RoundsUpSoTheServerNeverWaitsLess() =>
        Assert.Equal("2u", GrpcTimeout.Encode(TimeSpan.FromTicks(11)));

    [Theory]
    [InlineData("2H", 2 * 3600_000.0)]
    [InlineData("3M", 3 * 60_000.0)]
    [InlineData("10S", 10_000.0)]
    [InlineData("250m", 250.0)]
    [InlineData("1500u", 1.5)]
    [InlineData("2000000n", 2.0)]
    public void GrpcTimeout_ParsesEveryUnit(string wire, double milliseconds)
    {
        Assert.True(GrpcTimeout.TryParse(wire, out var timeout));
        Assert.Equal(milliseconds, timeout.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    [InlineData("1.5S")]
    public void GrpcTimeout_RejectsMalformedValues(string wire) =>
        Assert.False(GrpcTimeout.TryParse(wire, out _));
}
