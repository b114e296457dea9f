using System.Formats.Tar;
using Lcluster.Daemon.Node;
using Lcluster.Shared;

namespace Lcluster.Unit.Tests;

/// <summary>The rules files travel by (docs/files.md): names, artifact patterns, and what an input archive may hold.</summary>
public sealed class FileRulesTests
{
    [Theory]
    [InlineData("a/b.txt", "a/b.txt")]
    [InlineData("./a//b/", "a/b")]
    [InlineData(".", "")]
    [InlineData("name with spaces/ünï 日本", "name with spaces/ünï 日本")]
    public void A_relative_path_has_one_spelling(string given, string normal)
    {
        Assert.Equal(normal, FilePaths.Normalize(given, out var why));
        Assert.Equal("", why);
    }

    [Theory]
    [InlineData("../x", "climbs with '..'")]
    [InlineData("a/../../x", "climbs with '..'")]
    [InlineData("a/..", "climbs with '..'")]
    [InlineData("/etc/shadow", "is absolute")]
    [InlineData("/work/out", "is absolute: paths are relative to /work (write out)")]
    [InlineData("", "is empty")]
    [InlineData("a\0b", "NUL")]
    public void A_path_that_escapes_or_cannot_be_a_name_is_refused_with_the_reason(string given, string why)
    {
        Assert.Null(FilePaths.Normalize(given, out var reason));
        Assert.Contains(why, reason);
    }

    [Fact]
    public void A_name_longer_than_255_bytes_is_refused()
    {
        Assert.Null(FilePaths.Normalize("a/" + new string('é', 128), out var why));
        Assert.Contains("longer than 255 bytes", why);
    }

    [Theory]
    [InlineData("*.txt", "a.txt", true)]
    [InlineData("*.txt", ".hidden.txt", true)]
    [InlineData("*.txt", "a.txt.gz", false)]
    [InlineData("data-?.csv", "data-1.csv", true)]
    [InlineData("data-?.csv", "data-10.csv", false)]
    [InlineData("[ab]*", "beta", true)]
    [InlineData("[!ab]*", "beta", false)]
    [InlineData("[a-c]x", "bx", true)]
    [InlineData("[a-c]x", "dx", false)]
    [InlineData("plain", "plain", true)]
    [InlineData("[unclosed", "[unclosed", true)]
    [InlineData("*a*b*c*d", "aXbXcXd", true)]
    public void An_artifact_pattern_matches_a_name_as_a_shell_glob_does_except_that_star_takes_dot_files(string pattern, string name, bool matches)
    {
        Assert.Equal(matches, ArtifactPattern.Matches(pattern, name));
    }

    [Fact]
    public void A_pattern_full_of_stars_against_a_long_name_answers_at_once()
    {
        var started = DateTime.UtcNow;
        Assert.False(ArtifactPattern.Matches(string.Concat(Enumerable.Repeat("*a", 100)) + "b", new string('a', 255)));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1), "wildcard matching backtracked without bound");
    }

    [Fact]
    public async Task An_input_archive_of_directories_and_files_is_measured()
    {
        var contents = await InputArchive.CheckAsync(await ArchiveAsync(
            (TarEntryType.Directory, "d/", null), (TarEntryType.RegularFile, "d/a b.txt", "12345"), (TarEntryType.RegularFile, "top", "x")), CancellationToken.None);

        Assert.Equal(new InputContents(6, 2), contents);
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink, "link", "is a symbolic link")]
    [InlineData(TarEntryType.HardLink, "hard", "is a hard link")]
    [InlineData(TarEntryType.Fifo, "pipe", "is a named pipe")]
    [InlineData(TarEntryType.RegularFile, "../up", "climbs with '..'")]
    [InlineData(TarEntryType.RegularFile, "/abs", "is absolute")]
    public async Task An_input_archive_with_anything_but_directories_and_files_under_relative_names_is_refused(TarEntryType type, string name, string why)
    {
        var archive = await ArchiveAsync((type, name, type == TarEntryType.RegularFile ? "x" : null));

        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(archive, CancellationToken.None));

        Assert.Contains(why, refused.Message);
    }

    [Fact]
    public async Task An_input_archive_that_names_a_file_twice_or_puts_one_below_a_file_is_refused()
    {
        var twice = await ArchiveAsync((TarEntryType.RegularFile, "a", "1"), (TarEntryType.RegularFile, "./a", "2"));
        var below = await ArchiveAsync((TarEntryType.RegularFile, "a", "1"), (TarEntryType.RegularFile, "a/b", "2"));

        Assert.Contains("is given twice", (await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(twice, CancellationToken.None))).Message);
        Assert.Contains("is below 'a', which is a file", (await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(below, CancellationToken.None))).Message);
    }

    [Fact]
    public async Task An_input_archive_of_nothing_is_refused()
    {
        var empty = await ArchiveAsync();

        Assert.Contains("the inputs hold nothing", (await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(empty, CancellationToken.None))).Message);
        Assert.Contains("the inputs hold nothing", (await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(new MemoryStream(), CancellationToken.None))).Message);
    }

    [Fact]
    public async Task Deep_names_cost_the_check_memory_for_their_segments_not_their_length_at_every_level()
    {
        // Names of 3,986 bytes, 1,992 levels each: kept as whole prefixes at every level, these 40 entries
        // (200 KB of archive) took 640 MB; each implied directory also counts as an entry to make.
        static string Deep(int i) => $"{i:D4}/" + string.Concat(Enumerable.Repeat("a/", 1990)) + "f";
        var accepted = await ArchiveAsync([.. Enumerable.Range(0, 40).Select(i => (TarEntryType.RegularFile, Deep(i), (string?)"x"))]);
        var tooMany = await ArchiveAsync([.. Enumerable.Range(0, 60).Select(i => (TarEntryType.RegularFile, Deep(i), (string?)"x"))]);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var contents = await InputArchive.CheckAsync(accepted, CancellationToken.None);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(new InputContents(40, 40), contents);
        Assert.True(allocated < 100 << 20, $"checking 40 deep names allocated {allocated >> 20} MB");
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(tooMany, CancellationToken.None));
        Assert.Contains($"the inputs hold more than {FilePaths.MaxEntries} files and directories", refused.Message);
    }

    [Fact]
    public async Task An_input_archive_with_a_directory_below_a_file_or_a_file_where_a_directory_is_is_refused()
    {
        var dirBelowFile = await ArchiveAsync((TarEntryType.RegularFile, "a", "1"), (TarEntryType.Directory, "a/b/", null));
        var fileAboveDir = await ArchiveAsync((TarEntryType.Directory, "a/b/", null), (TarEntryType.RegularFile, "a", "1"));

        Assert.Contains("is below 'a', which is a file", (await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(dirBelowFile, CancellationToken.None))).Message);
        Assert.Contains("as both a file and a directory", (await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(fileAboveDir, CancellationToken.None))).Message);
    }

    [Fact]
    public async Task Uploads_count_against_their_owners_quota_until_deleted_and_a_restarted_node_counts_them_again()
    {
        var dataDir = Directory.CreateTempSubdirectory("lcluster-inputs-").FullName;
        try
        {
            var store = new InputStore(dataDir);
            var archive = (await ArchiveAsync((TarEntryType.RegularFile, "f", new string('x', 3000)))).ToArray();
            string kept;
            await using (var first = store.Begin("carol", quota: 2 * archive.Length))
            {
                Assert.True(await first.TryWriteAsync(archive, CancellationToken.None));
                kept = first.Id;
                await first.KeepAsync(CancellationToken.None);
            }
            await using (var refused = store.Begin("carol", quota: 2 * archive.Length))
            {
                Assert.True(await refused.TryWriteAsync(archive.AsMemory(0, archive.Length / 2), CancellationToken.None));
                Assert.False(await refused.TryWriteAsync(archive, CancellationToken.None)); // past twice the archive
                Assert.Equal(archive.Length + archive.Length / 2, store.Held("carol"));
            }
            Assert.Equal(archive.Length, store.Held("carol")); // the refused upload gave its bytes back
            Assert.Equal(0, store.Held("bob"));

            Assert.Equal(archive.Length, new InputStore(dataDir).Held("carol")); // read again at a node's start
            store.Delete(kept);
            Assert.Equal(0, store.Held("carol"));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>Archives System.Formats.Tar cannot read, each failing with an exception of another type.</summary>
    public static TheoryData<string, byte[]> UnreadableArchives => new()
    {
        { "a sparse file", RawHeader('S', "sparse", 0) },
        { "a pax header of 2 MiB that holds no record", [.. RawHeader('x', "PaxHeaders/big", 2 << 20), .. new byte[2 << 20], .. RawHeader('0', "f", 0), .. new byte[1024]] },
        { "a pax uid past an int", [.. RawHeader('x', "PaxHeaders/uid", 19), .. Padded("19 uid=99999999999\n"u8), .. RawHeader('0', "f", 0), .. new byte[1024]] },
    };

    [Theory]
    [MemberData(nameof(UnreadableArchives))]
    public async Task An_input_archive_lclusterd_cannot_read_is_refused_as_damaged(string what, byte[] archive)
    {
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => InputArchive.CheckAsync(new MemoryStream(archive), CancellationToken.None));

        Assert.True(refused.Message.Contains("not a tar archive lclusterd can read"), $"{what}: {refused.Message}");
    }

    /// <summary>One ustar header block: the type flag, the name, the size, a valid checksum.</summary>
    private static byte[] RawHeader(char type, string name, long size)
    {
        var header = new byte[512];
        void Put(int at, string text) => System.Text.Encoding.ASCII.GetBytes(text).CopyTo(header, at);
        Put(0, name);
        Put(100, "0000644\0");
        Put(108, "0000000\0");
        Put(116, "0000000\0");
        Put(124, Convert.ToString(size, 8).PadLeft(11, '0') + "\0");
        Put(136, "00000000000\0");
        Put(148, "        ");
        header[156] = (byte)type;
        Put(257, "ustar\0");
        Put(263, "00");
        var sum = header.Sum(b => b);
        Put(148, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        return header;
    }

    private static byte[] Padded(ReadOnlySpan<byte> data)
    {
        var block = new byte[(data.Length + 511) / 512 * 512];
        data.CopyTo(block);
        return block;
    }

    private static async Task<MemoryStream> ArchiveAsync(params (TarEntryType Type, string Name, string? Content)[] entries)
    {
        var archive = new MemoryStream();
        await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (type, name, content) in entries)
            {
                var entry = new PaxTarEntry(type, name);
                if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                    entry.LinkName = "/etc/shadow";
                if (content is not null)
                    entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content));
                await writer.WriteEntryAsync(entry);
            }
        }
        archive.Position = 0;
        return archive;
    }
}
