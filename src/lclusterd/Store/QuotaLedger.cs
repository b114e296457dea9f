namespace Lcluster.Daemon.Store;

/// <summary>
/// What each user's jobs hold in etcd as this node knows it: the usage ledger (one key per job, read and then
/// watched by <see cref="UsageView"/>), plus the jobs this node has admitted whose usage keys the view has not shown
/// yet. Admitting charges a request's jobs at once, under the lock that checks them, so requests admitted at the
/// same moment on this node see each other and together stay within the quota. A charge ends when the view shows
/// the job's usage key (the ledger counts it from then), when its creation fails or finds the job made already, and,
/// should a broken watch have missed the key, a minute after the job was created. Pure: no etcd, the clock is given.
/// </summary>
internal sealed class QuotaLedger
{
    /// <summary>How long a created job's charge may wait for the view to show its usage key.</summary>
    public const long ChargeLifetimeMs = 60_000;

    private readonly Lock _lock = new();
    private readonly BytesByOwner _stored = new();
    private readonly Dictionary<string, Dictionary<string, Charge>> _charges = new(StringComparer.Ordinal);

    /// <summary>A job admitted on this node and not yet seen in the ledger; <see cref="CreatedAtMs"/> is -1 until its Txn succeeded.</summary>
    private sealed class Charge(long bytes)
    {
        public long Bytes { get; } = bytes;
        public long CreatedAtMs { get; set; } = -1;
    }

    /// <summary>
    /// What admitting a request found. When <see cref="Fits"/>, its jobs are charged until <see cref="Created"/> or
    /// <see cref="Release"/>; otherwise nothing was charged.
    /// </summary>
    /// <param name="Held">The bytes the owner's jobs hold, counting those admitted here before this request.</param>
    /// <param name="Adding">This request's bytes.</param>
    /// <param name="Submitting">Jobs of the owner admitted on this node whose creation has not succeeded yet, this request's included.</param>
    internal sealed record Admission(string Owner, bool Fits, long Held, long Adding, int Submitting, IReadOnlyList<string> Charged);

    /// <summary>
    /// Checks a request of <paramref name="owner"/>'s against <paramref name="quota"/> bytes, and charges its jobs
    /// when it fits. A job charged already (the same request sent twice at once) is charged once.
    /// </summary>
    public Admission Admit(string owner, IReadOnlyList<(string Id, long Bytes)> jobs, long quota, long nowMs)
    {
        var key = JobIndex.Escape(owner);
        lock (_lock)
        {
            var charges = _charges.GetValueOrDefault(key);
            if (charges is not null)
            {
                foreach (var (id, charge) in charges.Where(c => c.Value.CreatedAtMs >= 0 && nowMs - c.Value.CreatedAtMs > ChargeLifetimeMs).ToList())
                    charges.Remove(id);
            }
            var held = _stored[key] + (charges?.Values.Sum(c => c.Bytes) ?? 0);
            var fresh = jobs.Where(j => charges is null || !charges.ContainsKey(j.Id)).DistinctBy(j => j.Id).ToList();
            var adding = fresh.Sum(j => j.Bytes);
            var submitting = (charges?.Values.Count(c => c.CreatedAtMs < 0) ?? 0) + fresh.Count;
            if (held + adding > quota)
                return new Admission(owner, false, held, adding, submitting, []);
            if (charges is null)
                _charges[key] = charges = new(StringComparer.Ordinal);
            foreach (var (id, bytes) in fresh)
                charges[id] = new Charge(bytes);
            return new Admission(owner, true, held, adding, submitting, [.. fresh.Select(j => j.Id)]);
        }
    }

    /// <summary>The admission's Txns are done: the jobs created now stay charged until the view shows them; the others (made already) are not charged.</summary>
    public void Created(Admission admission, IReadOnlyCollection<string> created, long nowMs)
    {
        var made = created as IReadOnlySet<string> ?? created.ToHashSet(StringComparer.Ordinal);
        lock (_lock)
        {
            if (!_charges.TryGetValue(JobIndex.Escape(admission.Owner), out var charges))
                return;
            foreach (var id in admission.Charged)
            {
                if (!charges.TryGetValue(id, out var charge))
                    continue; // the view has shown it already
                if (made.Contains(id))
                    charge.CreatedAtMs = nowMs;
                else
                    charges.Remove(id);
            }
            Forget(JobIndex.Escape(admission.Owner), charges);
        }
    }

    /// <summary>
    /// The admission failed or was refused after it was charged: its charges not yet created end. A Txn whose outcome is
    /// unknown may have created its jobs after all: the view counts them when it shows them.
    /// </summary>
    public void Release(Admission admission)
    {
        lock (_lock)
        {
            if (!_charges.TryGetValue(JobIndex.Escape(admission.Owner), out var charges))
                return;
            foreach (var id in admission.Charged)
            {
                if (charges.TryGetValue(id, out var charge) && charge.CreatedAtMs < 0)
                    charges.Remove(id);
            }
            Forget(JobIndex.Escape(admission.Owner), charges);
        }
    }

    /// <summary>The ledger as read at one revision: replaces what the view held; a charged job found in it is counted from the ledger now.</summary>
    public void Load(IEnumerable<(string Key, long Bytes)> entries)
    {
        lock (_lock)
        {
            _stored.Clear();
            foreach (var (key, bytes) in entries)
                StoredUnderLock(key, bytes);
        }
    }

    /// <summary>A usage key created: the job's bytes count from the ledger, and its charge (if this node admitted it) ends.</summary>
    public void Stored(string key, long bytes)
    {
        lock (_lock)
            StoredUnderLock(key, bytes);
    }

    private void StoredUnderLock(string key, long bytes)
    {
        var (owner, id) = (Keys.UsageOwner(key), key[(key.LastIndexOf('/') + 1)..]);
        _stored.Add(owner, bytes);
        if (_charges.TryGetValue(owner, out var charges) && charges.Remove(id))
            Forget(owner, charges);
    }

    /// <summary>A usage key rewritten (its job's output tails saved): the difference counts.</summary>
    public void Changed(string key, long before, long after)
    {
        lock (_lock)
            _stored.Add(Keys.UsageOwner(key), after - before);
    }

    /// <summary>A usage key deleted with its job: the bytes it held are given back.</summary>
    public void Removed(string key, long bytes)
    {
        lock (_lock)
            _stored.Add(Keys.UsageOwner(key), -bytes);
    }

    /// <summary>Bytes of an owner's jobs in the ledger as last seen, charges not included.</summary>
    public long StoredBytes(string owner)
    {
        lock (_lock)
            return _stored[JobIndex.Escape(owner)];
    }

    /// <summary>Jobs charged and not yet shown by the view, over all owners.</summary>
    public int Charged()
    {
        lock (_lock)
            return _charges.Values.Sum(c => c.Count);
    }

    private void Forget(string owner, Dictionary<string, Charge> charges)
    {
        if (charges.Count == 0)
            _charges.Remove(owner);
    }
}
