using Lcluster.Etcd.Api;

namespace Lcluster.Etcd.Kv;

/// <summary>
/// An etcd transaction, read as it runs:
/// <c>Txn.If(Cmp.ModRevision(key) == rev).Then(Op.Put(key, v), Op.Delete(q)).Else(Op.Get(key))</c>.
/// Immutable: each step returns a new Txn.
/// </summary>
public sealed class Txn
{
    private readonly Compare[] _compares;
    private readonly Op[] _then;
    private readonly Op[] _else;

    private Txn(Compare[] compares, Op[] then, Op[] @else)
    {
        _compares = compares;
        _then = then;
        _else = @else;
    }

    /// <summary>All compares must hold for Then to run; none at all means Then always runs.</summary>
    public static Txn If(params Compare[] compares) => new([.. compares], [], []);

    public Txn Then(params Op[] ops) => new(_compares, [.. _then, .. ops], _else);

    public Txn Else(params Op[] ops) => new(_compares, _then, [.. _else, .. ops]);

    /// <summary>
    /// Whether the Txn only reads: every op of both branches, and of the Txns nested in them, is a Get. Such a Txn is
    /// a read, safe to send to the next member when one does not answer; anything else may have been applied.
    /// </summary>
    internal static bool OnlyReads(TxnRequest txn) =>
        txn.Success.Concat(txn.Failure).All(op => op.RequestCase switch
        {
            RequestOp.RequestOneofCase.RequestRange => true,
            RequestOp.RequestOneofCase.RequestTxn => OnlyReads(op.RequestTxn),
            _ => false,
        });

    internal TxnRequest ToRequest()
    {
        var request = new TxnRequest();
        request.Compare.AddRange(_compares.Select(c => c.Clone()));
        request.Success.AddRange(_then.Select(op => op.Request.Clone()));
        request.Failure.AddRange(_else.Select(op => op.Request.Clone()));
        return request;
    }
}
