using Lcluster.Daemon.Store;

namespace Lcluster.Unit.Tests;

public sealed class PageTokenTests
{
    [Fact]
    public void A_token_gives_back_where_the_page_ended_for_the_same_filter_only()
    {
        var token = PageToken.Encode("5|alice|", "9223372036854775806-abc");

        Assert.Equal("9223372036854775806-abc", PageToken.Decode(token, "5|alice|"));
        Assert.Null(PageToken.Decode(token, "5|bob|"));
        Assert.DoesNotContain('/', token);
        Assert.DoesNotContain('+', token);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("Zm9v")]
    public void Garbage_is_no_token(string token) => Assert.Null(PageToken.Decode(token, "0||"));
}
