using Lcluster.Daemon.Store;

namespace Lcluster.Unit.Tests;

public sealed class PageTokenTests
{
    [Fact]
    public void A_token_gives_back_where_the_page_ended_for_the_same_filter_only()
    {
        var token = PageToken.Encode("5|alice|", "9223372036854775806-7ea660f7-48b4-8236-9bda-b932c4f0274b", 42);

        Assert.Equal(("9223372036854775806-7ea660f7-48b4-8236-9bda-b932c4f0274b", 42L), PageToken.Decode(token, "5|alice|"));
        Assert.Null(PageToken.Decode(token, "5|bob|"));
        Assert.DoesNotContain('/', token);
        Assert.DoesNotContain('+', token);
    }

    [Theory]
    [InlineData("0|alice|")]
    [InlineData("abc")]
    [InlineData("9223372036854775806-abc")]
    [InlineData("922337203685477580-7ea660f7-48b4-8236-9bda-b932c4f0274b")]
    [InlineData("9223372036854775806-7EA660F7-48B4-8236-9BDA-B932C4F0274B")]
    [InlineData("9223372036854775806-7ea660f7-48b4-8236-9bda-b932c4f0274b\u0000")]
    public void A_token_made_by_hand_whose_position_is_no_jobs_order_is_no_token(string order) =>
        Assert.Null(PageToken.Decode(PageToken.Encode("5|alice|", System.Text.RegularExpressions.Regex.Unescape(order), 42), "5|alice|"));

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("Zm9v")]
    public void Garbage_is_no_token(string token) => Assert.Null(PageToken.Decode(token, "0||"));
}
