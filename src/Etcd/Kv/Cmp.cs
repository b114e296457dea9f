using Google.Protobuf;
using Lcluster.Etcd.Api;
using Target = Lcluster.Etcd.Api.Compare.Types.CompareTarget;
using Result = Lcluster.Etcd.Api.Compare.Types.CompareResult;

namespace Lcluster.Etcd.Kv;

/// <summary>
/// One side of a Txn compare: a field of a key, compared with an operator, e.g.
/// <c>Cmp.ModRevision(key) == rev</c>, <c>Cmp.CreateRevision(key) == 0</c> (the key does not exist),
/// <c>Cmp.Value(key) != "done"</c>. The operators build a <see cref="Compare"/>; they do not compare Cmps.
/// </summary>
#pragma warning disable CS0660, CS0661 // == and != build a Compare for a Txn; a Cmp itself is never tested for equality
public sealed class Cmp
#pragma warning restore CS0660, CS0661
{
    private readonly string _key;
    private readonly Target _target;

    private Cmp(string key, Target target)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        _key = key;
        _target = target;
    }

    /// <summary>How many times the key was written since it was created (0: it does not exist).</summary>
    public static Cmp Version(string key) => new(key, Target.Version);

    /// <summary>The revision that created the key (0: it does not exist).</summary>
    public static Cmp CreateRevision(string key) => new(key, Target.Create);

    /// <summary>The revision of the key's last write (0: it does not exist).</summary>
    public static Cmp ModRevision(string key) => new(key, Target.Mod);

    /// <summary>The key's value (a missing key never compares true).</summary>
    public static Cmp Value(string key) => new(key, Target.Value);

    /// <summary>The lease the key is attached to (0: none).</summary>
    public static Cmp Lease(string key) => new(key, Target.Lease);

    public static Compare operator ==(Cmp cmp, long number) => cmp.Number(Result.Equal, number);
    public static Compare operator !=(Cmp cmp, long number) => cmp.Number(Result.NotEqual, number);
    public static Compare operator <(Cmp cmp, long number) => cmp.Number(Result.Less, number);
    public static Compare operator >(Cmp cmp, long number) => cmp.Number(Result.Greater, number);

    public static Compare operator ==(Cmp cmp, string value) => cmp.Bytes(Result.Equal, ByteString.CopyFromUtf8(value));
    public static Compare operator !=(Cmp cmp, string value) => cmp.Bytes(Result.NotEqual, ByteString.CopyFromUtf8(value));
    public static Compare operator <(Cmp cmp, string value) => cmp.Bytes(Result.Less, ByteString.CopyFromUtf8(value));
    public static Compare operator >(Cmp cmp, string value) => cmp.Bytes(Result.Greater, ByteString.CopyFromUtf8(value));

    public static Compare operator ==(Cmp cmp, ByteString value) => cmp.Bytes(Result.Equal, value);
    public static Compare operator !=(Cmp cmp, ByteString value) => cmp.Bytes(Result.NotEqual, value);
    public static Compare operator <(Cmp cmp, ByteString value) => cmp.Bytes(Result.Less, value);
    public static Compare operator >(Cmp cmp, ByteString value) => cmp.Bytes(Result.Greater, value);

    private Compare Number(Result result, long number)
    {
        var compare = new Compare { Result = result, Target = _target, Key = KeyRange.Key(_key) };
        switch (_target)
        {
            case Target.Version: compare.Version = number; break;
            case Target.Create: compare.CreateRevision = number; break;
            case Target.Mod: compare.ModRevision = number; break;
            case Target.Lease: compare.Lease = number; break;
            default: throw new ArgumentException($"a compare on the value of {_key} needs a string or bytes, not the number {number}");
        }
        return compare;
    }

    private Compare Bytes(Result result, ByteString value)
    {
        if (_target != Target.Value)
            throw new ArgumentException($"a compare on the {_target} of {_key} needs a number, not a value");
        return new Compare { Result = result, Target = _target, Key = KeyRange.Key(_key), Value = value };
    }
}
