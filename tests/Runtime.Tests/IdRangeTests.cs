using Lcluster.Runtime.Security;

namespace Lcluster.Runtime.Tests;

/// <summary>The blocks of host ids containers' user namespaces map onto, and the options that place them.</summary>
public sealed class IdRangeTests
{
    // Far from the default blocks, which containers of other test classes hold meanwhile (the table is process-wide).
    private static UserNamespaceOptions Options(uint first, int count) => new() { FirstHostId = first, IdsPerContainer = 65536, MaxContainers = count };

    [Fact]
    public void Blocks_are_handed_out_lowest_free_first_never_twice_at_once_and_reused_once_released()
    {
        var ranges = new IdRanges(Options(0xC0000000, 8));
        var (a, b, c) = (ranges.Take(), ranges.Take(), ranges.Take());
        Assert.Equal([0xC0000000u, 0xC0010000u, 0xC0020000u], new[] { a.Range.First, b.Range.First, c.Range.First });
        Assert.Equal("0 3221291008 65536\n", b.Range.MapLine);
        b.Dispose();
        b.Dispose(); // once only: a second release must not free a block someone else took meanwhile
        using var again = ranges.Take();
        Assert.Equal(0xC0010000u, again.Range.First);
        using var next = ranges.Take();
        Assert.Equal(0xC0030000u, next.Range.First);
        a.Dispose();
        c.Dispose();
    }

    [Fact]
    public void Blocks_overlapping_another_options_held_block_are_skipped()
    {
        using var held = new IdRanges(Options(0xD0000000, 1)).Take();
        using var shifted = new IdRanges(Options(0xD0000000 - 0x8000, 4)).Take();
        Assert.False(held.Range.Overlaps(shifted.Range), $"{held.Range} and {shifted.Range} overlap");
    }

    [Fact]
    public void When_every_block_is_held_the_next_container_gets_a_clear_error()
    {
        var ranges = new IdRanges(Options(0xE0000000, 2));
        using var first = ranges.Take();
        using var second = ranges.Take();
        var e = Assert.Throws<SandboxException>(() => ranges.Take());
        Assert.Contains("all 2 user-id blocks from host id 3758096384 are held", e.Message);
    }

    [Theory]
    [InlineData(1000u, 65536u, 16, "among the host's own users")]
    [InlineData(0xFFFF0000u, 65536u, 2, "go past the last host id")]
    [InlineData(1u << 30, 0u, 16, "must both be at least 1")]
    public void Id_blocks_below_the_host_users_past_the_last_id_or_empty_are_refused(uint first, uint size, int count, string why)
    {
        var options = Valid() with { UserNamespaces = new UserNamespaceOptions { FirstHostId = first, IdsPerContainer = size, MaxContainers = count } };
        var e = Assert.Throws<ArgumentException>(() => SandboxValidation.Check(options));
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void An_init_program_the_containers_root_cannot_execute_is_refused_with_what_to_do()
    {
        var closed = Path.Combine(Path.GetTempPath(), "lcluster-closed-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var program = Path.Combine(closed, "init");
            File.Copy(SandboxFixture.InitProgram, program);
            File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var e = Assert.Throws<ArgumentException>(() => SandboxValidation.Check(Valid() with { InitProgram = program }));
            Assert.Contains($"must execute the init program: {program} is mode 700; chmod o+x it, or turn user namespaces off", e.Message);
            SandboxValidation.Check(Valid() with { InitProgram = program, UserNamespaces = null });
            // The directory above it stays closed: the init executes the program through the daemon's fd.
            File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);
            SandboxValidation.Check(Valid() with { InitProgram = program });
        }
        finally
        {
            Directory.Delete(closed, recursive: true);
        }
    }

    private static SandboxOptions Valid() => new()
    {
        InitProgram = SandboxFixture.InitProgram,
        WorkDirectory = Path.Combine(Path.GetTempPath(), "lcluster-valid"),
        CgroupParent = "lcluster-test/valid",
        CgroupRoot = "/",
    };
}
