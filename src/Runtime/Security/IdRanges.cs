namespace Lcluster.Runtime.Security;

/// <summary>The host uids and gids one container's user namespace maps its ids 0..Count-1 onto.</summary>
internal readonly record struct HostIdRange(uint First, uint Count)
{
    /// <summary>The uid_map and gid_map line: inside id 0 is host id First, for Count ids.</summary>
    public string MapLine => string.Concat("0 ", First.ToString(System.Globalization.CultureInfo.InvariantCulture), " ",
        Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "\n");

    public bool Overlaps(HostIdRange other) => (ulong)First < (ulong)other.First + other.Count && (ulong)other.First < (ulong)First + Count;
}

/// <summary>
/// Hands out blocks of host ids, lowest free first. Process-wide: every Sandbox of the process draws from one table,
/// so two of its containers never share ids, whatever their options; another process (another daemon) does not see
/// it, which is why each daemon on a host needs its own FirstHostId.
/// </summary>
internal sealed class IdRanges(UserNamespaceOptions options)
{
    private static readonly Lock Gate = new();
    private static readonly List<HostIdRange> Taken = [];

    public UserNamespaceOptions Options => options;

    /// <summary>The lowest free block; throws SandboxException when all are held by containers of this process.</summary>
    public IdLease Take()
    {
        lock (Gate)
        {
            for (var i = 0; i < options.MaxContainers; i++)
            {
                var candidate = new HostIdRange(checked(options.FirstHostId + (uint)i * options.IdsPerContainer), options.IdsPerContainer);
                if (Taken.Exists(candidate.Overlaps))
                    continue;
                Taken.Add(candidate);
                return new IdLease(candidate);
            }
        }
        throw new SandboxException(
            $"all {options.MaxContainers} user-id blocks from host id {options.FirstHostId} are held by running or waiting containers: " +
            "raise UserNamespaceOptions.MaxContainers or wait for containers to end");
    }

    /// <summary>How many blocks this process holds now (for tests).</summary>
    internal static int HeldCount
    {
        get
        {
            lock (Gate)
                return Taken.Count;
        }
    }

    private static void Release(HostIdRange range)
    {
        lock (Gate)
            Taken.Remove(range);
    }

    /// <summary>One held block; disposing gives it back (once).</summary>
    internal sealed class IdLease(HostIdRange range) : IDisposable
    {
        private int _released;

        public HostIdRange Range => range;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                Release(range);
        }
    }
}
