using Google.Protobuf;
using Lcluster.Etcd;
using Lcluster.Etcd.Api;

namespace Lcluster.Daemon.Store;

/// <summary>
/// The daemon's reads and writes of job state in etcd (docs/etcd-keys.md).
/// Every write that moves a job is one Txn fenced on the record's
/// mod_revision plus the writer's own guard (its lease, or the prime's key).
/// </summary>
internal sealed class JobStore(EtcdClient etcd)
{
    public EtcdClient Etcd => etcd;

    public async Task<StoredJob?> GetAsync(string id, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Job(id), cancellationToken: ct);
        return response.Kvs.Count == 0 ? null : StoredJob.From(response.Kvs[0]);
    }

    /// <summary>Several records in one round trip (missing ones are left out).</summary>
    public async Task<IReadOnlyList<StoredJob>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken ct)
    {
        var found = new List<StoredJob>(ids.Count);
        foreach (var chunk in ids.Chunk(100))
        {
            var txn = Txn.If().Then(chunk.Select(id => Op.Get(Keys.Job(id))).ToArray());
            var response = await etcd.TxnAsync(txn, ct);
            foreach (var r in response.Responses)
            {
                if (r.ResponseRange.Kvs.Count > 0)
                    found.Add(StoredJob.From(r.ResponseRange.Kvs[0]));
            }
        }
        return found;
    }

    public async Task<IReadOnlyList<StoredJob>> ListAsync(CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Jobs, new GetOptions { Prefix = true }, ct);
        return response.Kvs.Select(StoredJob.From).ToList();
    }

    /// <summary>Records a new job with its queue entry and stdin; false if the id is taken.</summary>
    public async Task<bool> CreateAsync(JobRecord record, QueueEntry entry, byte[] stdin, CancellationToken ct)
    {
        var id = record.Job.Id;
        var ops = new List<Op> { Op.Put(Keys.Job(id), record.ToByteString()), Op.Put(Keys.QueueEntry(id), entry.ToByteString()) };
        if (stdin.Length > 0)
            ops.Add(Op.Put(Keys.Stdin(id), ByteString.CopyFrom(stdin)));
        var response = await etcd.TxnAsync(Txn.If(Cmp.CreateRevision(Keys.Job(id)) == 0).Then([.. ops]), ct);
        return response.Succeeded;
    }

    /// <summary>
    /// Writes a changed record and the ops that go with the transition, if the
    /// record is still at the revision the caller read and every guard holds.
    /// </summary>
    public async Task<bool> TryUpdateAsync(StoredJob read, JobRecord changed, IEnumerable<Compare> guards, IEnumerable<Op> ops, CancellationToken ct)
    {
        var compares = new List<Compare> { Cmp.ModRevision(Keys.Job(read.Id)) == read.ModRevision };
        compares.AddRange(guards);
        var all = new List<Op> { Op.Put(Keys.Job(read.Id), changed.ToByteString()) };
        all.AddRange(ops);
        var response = await etcd.TxnAsync(Txn.If([.. compares]).Then([.. all]), ct);
        return response.Succeeded;
    }

    /// <summary>Deletes a finished job with everything that belongs to it, if unchanged since read.</summary>
    public async Task<bool> TryDeleteAsync(StoredJob read, IEnumerable<Compare> guards, CancellationToken ct)
    {
        var id = read.Id;
        var compares = new List<Compare> { Cmp.ModRevision(Keys.Job(id)) == read.ModRevision };
        compares.AddRange(guards);
        var ops = new List<Op>
        {
            Op.Delete(Keys.Job(id)),
            Op.Delete(Keys.Stdin(id)),
            Op.Delete(Keys.Root + "tail/" + id + "/", prefix: true),
        };
        if (read.Job.Node.Length > 0)
            ops.Add(Op.Delete(Keys.Out(read.Job.Node, id)));
        var response = await etcd.TxnAsync(Txn.If([.. compares]).Then([.. ops]), ct);
        return response.Succeeded;
    }

    public async Task<byte[]> GetStdinAsync(string id, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Stdin(id), cancellationToken: ct);
        return response.Kvs.Count == 0 ? [] : response.Kvs[0].Value.ToByteArray();
    }

    public async Task<byte[]?> GetTailAsync(string id, bool stderr, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Tail(id, stderr), cancellationToken: ct);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToByteArray();
    }

    public async Task<IReadOnlyDictionary<string, NodeRecord>> MembersAsync(CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Members, new GetOptions { Prefix = true }, ct);
        return response.Kvs.Select(kv => NodeRecord.Parser.ParseFrom(kv.Value)).ToDictionary(n => n.Name);
    }

    /// <summary>Run keys of every node: (node, job id, assignment).</summary>
    public async Task<IReadOnlyList<(string Node, string Id, Assignment Assignment, long ModRevision)>> RunsAsync(CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Nodes, new GetOptions { Prefix = true }, ct);
        return ParseRuns(response.Kvs);
    }

    public static List<(string Node, string Id, Assignment Assignment, long ModRevision)> ParseRuns(IEnumerable<KeyValue> kvs)
    {
        var runs = new List<(string, string, Assignment, long)>();
        foreach (var kv in kvs)
        {
            if (Keys.ParseNodeKey(kv.KeyText) is { Kind: "run" } key)
                runs.Add((key.Node, key.Id, Assignment.Parser.ParseFrom(kv.Value), kv.ModRevision));
        }
        return runs;
    }
}
