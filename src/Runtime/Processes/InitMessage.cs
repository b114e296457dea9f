using System.Text;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// What the daemon tells a waiting init over its control pipe: everything the
/// init needs to build the container and exec the job. Length-prefixed UTF-8,
/// no serializer: the init must stay light. The init works in the job's
/// directory (<see cref="JobDir"/>, or the directory it gets as an fd in a user
/// namespace, when JobDir is empty) and names the layer's directories there
/// by <see cref="JobDirectory"/>'s names.
/// </summary>
internal sealed record InitMessage(
    string Hostname,
    string LowerDir,
    string JobDir,
    string? StdinPath,
    string Command,
    long? DiskBytes,
    IReadOnlyList<string> Environment)
{
    public const int MaxBytes = 4 << 20;
    /// <summary>The fields before the environment's entries.</summary>
    private const int FixedFields = 7;

    /// <summary>Where the init opens the job's /work mount (the daemon's descriptor of it); null: no /work.</summary>
    public string? WorkspaceSource { get; init; }

    /// <summary>The whole frame: a 4-byte little-endian length, then the fields.</summary>
    public byte[] Encode()
    {
        var disk = DiskBytes is > 0 ? DiskBytes.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
        var fields = new List<string> { Hostname, LowerDir, JobDir, StdinPath ?? "", Command, disk, WorkspaceSource ?? "" };
        fields.AddRange(Environment);
        var size = 4 + 4;
        foreach (var field in fields)
            size += 4 + Encoding.UTF8.GetByteCount(field);
        if (size > MaxBytes)
            throw new ArgumentException($"the job's command and environment take {size} bytes; the limit is {MaxBytes}");
        var frame = new byte[size];
        WriteInt32(frame, 0, size - 4);
        WriteInt32(frame, 4, fields.Count);
        var at = 8;
        foreach (var field in fields)
        {
            var n = Encoding.UTF8.GetBytes(field, frame.AsSpan(at + 4));
            WriteInt32(frame, at, n);
            at += 4 + n;
        }
        return frame;
    }

    /// <summary>Decodes the body of a frame (without its length prefix).</summary>
    public static InitMessage Decode(ReadOnlySpan<byte> body)
    {
        var count = ReadInt32(body);
        if (count < FixedFields || count > 1 << 20)
            throw new InvalidDataException($"init message has {count} fields");
        var fields = new string[count];
        var at = 4;
        for (var i = 0; i < count; i++)
        {
            var n = ReadInt32(body[at..]);
            fields[i] = Encoding.UTF8.GetString(body.Slice(at + 4, n));
            at += 4 + n;
        }
        return new InitMessage(fields[0], fields[1], fields[2], fields[3].Length == 0 ? null : fields[3], fields[4],
            fields[5].Length == 0 ? null : long.Parse(fields[5], System.Globalization.CultureInfo.InvariantCulture), fields[FixedFields..])
        {
            WorkspaceSource = fields[6].Length == 0 ? null : fields[6],
        };
    }

    // Hand-rolled instead of BinaryPrimitives: that type loads System.Memory.dll into the init.
    public static int ReadInt32(ReadOnlySpan<byte> b) => b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);

    private static void WriteInt32(byte[] b, int at, int value)
    {
        b[at] = (byte)value;
        b[at + 1] = (byte)(value >> 8);
        b[at + 2] = (byte)(value >> 16);
        b[at + 3] = (byte)(value >> 24);
    }
}

/// <summary>The one-byte tags an init writes on its report pipe.</summary>
internal static class InitReport
{
    /// <summary>The runtime is up and the init waits for its message.</summary>
    public const byte Ready = (byte)'R';
    /// <summary>Everything is set up; execve comes next (EOF after it means it succeeded).</summary>
    public const byte Exec = (byte)'E';
    /// <summary>A step failed; UTF-8 text naming the step and errno follows until EOF.</summary>
    public const byte Failed = (byte)'F';
}
