using Google.Protobuf;
using Lcluster.Etcd.Api;

namespace Lcluster.Etcd.Kv;

/// <summary>One operation inside a <see cref="Txn"/>: Get, Put, Delete, or a nested Txn.</summary>
public sealed class Op
{
    private Op(RequestOp request) => Request = request;

    internal RequestOp Request { get; }

    public static Op Get(string key, GetOptions? options = null) =>
        new(new RequestOp { RequestRange = (options ?? new GetOptions()).ToRequest(key) });

    public static Op Put(string key, string value, long lease = 0, bool prevKv = false) =>
        Put(key, ByteString.CopyFromUtf8(value), lease, prevKv);

    public static Op Put(string key, ByteString value, long lease = 0, bool prevKv = false) =>
        new(new RequestOp { RequestPut = PutRequest(key, value, lease, prevKv) });

    public static Op Delete(string key, bool prefix = false, bool prevKv = false) =>
        new(new RequestOp { RequestDeleteRange = DeleteRequest(key, prefix, prevKv) });

    public static Op Txn(Txn txn) => new(new RequestOp { RequestTxn = txn.ToRequest() });

    internal static PutRequest PutRequest(string key, ByteString value, long lease, bool prevKv) =>
        new() { Key = KeyRange.Key(key), Value = value, Lease = lease, PrevKv = prevKv };

    internal static DeleteRangeRequest DeleteRequest(string key, bool prefix, bool prevKv)
    {
        var request = new DeleteRangeRequest { Key = KeyRange.Key(key), PrevKv = prevKv };
        if (prefix)
            request.RangeEnd = KeyRange.PrefixEnd(request.Key);
        return request;
    }
}
