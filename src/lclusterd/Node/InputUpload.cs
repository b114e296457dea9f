using Lcluster.Daemon.Store;

namespace Lcluster.Daemon.Node;

/// <summary>
/// One upload of inputs in progress: bytes go to DATA_DIR/inputs/ID.partial as they arrive; the
/// archive is kept only when whole and checked. Disposing an upload that was not kept deletes it,
/// so a refused, broken or abandoned upload leaves nothing on the node.
/// </summary>
internal sealed class InputUpload : IAsyncDisposable
{
    private readonly InputStore _store;
    private readonly string _owner;
    private readonly long? _quota;
    private readonly FileStream _file;
    private bool _kept;

    public InputUpload(InputStore store, string id, string owner, long? quota)
    {
        _store = store;
        _owner = owner;
        _quota = quota;
        Id = id;
        _file = new FileStream(store.PartialPath(id), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.Asynchronous);
    }

    public string Id { get; }

    /// <summary>Bytes received so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>Writes the bytes; false, writing nothing, when they would take the owner past their quota on this node.</summary>
    public async ValueTask<bool> TryWriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (!_store.TryHold(_owner, data.Length, _quota))
            return false;
        Bytes += data.Length; // held from here on: given back by DisposeAsync unless kept
        await _file.WriteAsync(data, ct);
        return true;
    }

    /// <summary>Checks the whole archive and keeps it; InvalidDataException (nothing kept) when it is not one lclusterd takes.</summary>
    public async Task<UploadRecord> KeepAsync(CancellationToken ct)
    {
        await _file.FlushAsync(ct);
        _file.Position = 0;
        var contents = await InputArchive.CheckAsync(_file, ct);
        await _file.DisposeAsync();
        var record = new UploadRecord
        {
            Owner = _owner,
            ArchiveBytes = Bytes,
            ContentBytes = contents.Bytes,
            Files = contents.Files,
            CreatedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        _store.Keep(Id, record);
        _kept = true;
        return record;
    }

    public async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync();
        if (_kept)
            return;
        File.Delete(_store.PartialPath(Id));
        _store.Release(_owner, Bytes);
    }
}
