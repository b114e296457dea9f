using Lcluster.Shared;

namespace Lcluster.Unit.Tests;

public sealed class PrintableTextTests
{
    [Theory]
    [InlineData("echo hello", "echo hello")]
    [InlineData("a\u001b[2Jb", "a\\x1b[2Jb")]
    [InlineData("line\nnext\r\tx", "line\\nnext\\r\\tx")]
    [InlineData("safe\u202egnp.exe", "safe\\u202egnp.exe")]
    [InlineData("ジョブ é", "ジョブ é")]
    [InlineData("\u0085\u009b", "\\x85\\x9b")]
    [InlineData("tag\U000E0041\U000E007F", "tag\\U000e0041\\U000e007f")]
    [InlineData("emoji \U0001F600", "emoji \U0001F600")]
    public void Control_and_invisible_characters_are_escaped_and_letters_kept(string text, string shown) =>
        Assert.Equal(shown, PrintableText.Escape(text));

    [Fact]
    public void Shortened_text_is_escaped_first_and_marked_cut() =>
        Assert.Equal("aaaa\\x1b…", PrintableText.Shorten("aaaa\u001baaaaaaaa", 9));
}
