namespace Lcluster.Etcd.Api;

// The generated message is partial: these read keys and values as the UTF-8 text lclusterd stores.
public sealed partial class KeyValue
{
    public string KeyText => Key.ToStringUtf8();

    public string ValueText => Value.ToStringUtf8();
}
