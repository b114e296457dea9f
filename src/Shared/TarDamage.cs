namespace Lcluster.Shared;

/// <summary>
/// What System.Formats.Tar throws on a damaged or hostile archive, told apart from everything else: a bad field
/// (Format, Argument, InvalidData), a short archive (EndOfStream), an entry kind it cannot read (NotSupported:
/// sparse files), an extended header larger than it reads (InvalidOperation), a number past its type (Overflow:
/// pax uid or mtime). Whoever reads an archive that came from elsewhere turns these into its own refusal.
/// </summary>
internal static class TarDamage
{
    public static bool Is(Exception e) =>
        e is FormatException or ArgumentException or InvalidDataException or EndOfStreamException or NotSupportedException or OverflowException
            or (InvalidOperationException and not ObjectDisposedException);
}
