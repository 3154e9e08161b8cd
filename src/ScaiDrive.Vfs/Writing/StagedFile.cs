using Microsoft.Win32.SafeHandles;

namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// The local copy of a file being written: <c>&lt;cache&gt;/staging/&lt;key&gt;.data</c>. Reads of a staged file are served
/// from it (read-your-writes) and stat shows its length and mtime at once. The upload queue reads it by path and fsyncs
/// it when a close makes it durable; the core deletes it once the version it holds is on the server and nobody has it open.
/// Reads and writes at offsets run concurrently (positional I/O); length and mtime changes are serialized by the
/// owning node's content gate.
/// </summary>
internal sealed class StagedFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private long _length;
    private long _modifiedTicks;
    private SequentialContentHash? _sequential; // changed under the owning node's content gate
    private EarlyChunkSender? _early; // changed under the owning node's content gate

    private StagedFile(StagedFileKey key, string path, SafeFileHandle handle, long length, DateTimeOffset modifiedAt)
    {
        Key = key;
        Path = path;
        _handle = handle;
        _length = length;
        _modifiedTicks = modifiedAt.UtcTicks;
    }

    public StagedFileKey Key { get; }

    public string Path { get; }

    public long Length => Volatile.Read(ref _length);

    public DateTimeOffset ModifiedAt => new(Volatile.Read(ref _modifiedTicks), TimeSpan.Zero);

    /// <summary>
    /// The background SHA-256 of this file while it has been written from its start in order, when it covers exactly
    /// the current length; null otherwise (the upload then hashes the file itself). The caller holds the content gate.
    /// </summary>
    public SequentialContentHash? SequentialHashOfCurrentContent =>
        _sequential is { IsValid: true } tracker && tracker.Contiguous == Length && Length >= SequentialContentHash.StartThreshold ? tracker : null;

    /// <summary>Starts sending finished chunks while this (new) file is written; the caller holds the content gate.</summary>
    public void AttachEarlySender(EarlyChunkSender sender) => _early = sender;

    /// <summary>Gives up the early session (a second writer); the caller holds the content gate.</summary>
    public void AbortEarlySend(string reason)
    {
        _early?.Abort(reason);
        _early = null;
    }

    /// <summary>At close: the early session for <paramref name="target"/>, if any; the sender is detached either way.</summary>
    public EarlySession? DetachEarlySession(UploadTarget target)
    {
        EarlySession? session = _early?.Detach(target);
        _early = null;
        return session;
    }

    public static string PathFor(string stagingDirectory, StagedFileKey key) => System.IO.Path.Combine(stagingDirectory, key.Value + ".data");

    /// <summary>A new, empty staged file.</summary>
    public static StagedFile Create(string stagingDirectory, StagedFileKey key, DateTimeOffset now)
    {
        Directory.CreateDirectory(stagingDirectory);
        string path = PathFor(stagingDirectory, key);
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        return new StagedFile(key, path, handle, 0, now) { _sequential = new SequentialContentHash(handle) };
    }

    /// <summary>Reopens a staged file a previous run left (found through the upload journal).</summary>
    public static StagedFile Open(StagedFileKey key, string path, long length)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        if (RandomAccess.GetLength(handle) != length)
        {
            RandomAccess.SetLength(handle, length);
        }

        return new StagedFile(key, path, handle, length, new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero));
    }

    public int Read(long offset, Span<byte> destination)
    {
        long length = Length;
        if (offset >= length)
        {
            return 0;
        }

        if (destination.Length > length - offset)
        {
            destination = destination[..(int)(length - offset)];
        }

        int total = 0;
        while (total < destination.Length)
        {
            int read = RandomAccess.Read(_handle, destination[total..], offset + total);
            if (read == 0)
            {
                // Past the physical end but inside the logical length (a sparse extension): zeros.
                destination[total..].Clear();
                return destination.Length;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Writes at <paramref name="offset"/>; the caller holds the node's content gate.</summary>
    public void Write(long offset, ReadOnlySpan<byte> data, DateTimeOffset now)
    {
        RandomAccess.Write(_handle, data, offset);
        long end = offset + data.Length;
        if (end > _length)
        {
            Volatile.Write(ref _length, end);
        }

        TrackSequential()?.OnWritten(offset, data.Length);
        _early?.OnWritten(offset, data.Length);

        Touch(now);
    }

    /// <summary>Truncates or extends (sparse zeros); the caller holds the node's content gate.</summary>
    public void SetLength(long length, DateTimeOffset now)
    {
        RandomAccess.SetLength(_handle, length);
        Volatile.Write(ref _length, length);
        _early?.OnLengthSet();
        _early = null;
        if (length == 0)
        {
            // O_TRUNC or truncate to empty: whatever follows may be a sequential rewrite again.
            _sequential?.Dispose();
            _sequential = new SequentialContentHash(_handle);
        }
        else
        {
            TrackSequential()?.OnLengthSet(length);
        }

        Touch(now);
    }

    /// <summary>The live tracker, or null once it gave up (dropped so that it costs nothing further).</summary>
    private SequentialContentHash? TrackSequential()
    {
        if (_sequential is { IsValid: false } dead)
        {
            dead.Dispose();
            _sequential = null;
        }

        return _sequential;
    }

    public void Touch(DateTimeOffset now) => Volatile.Write(ref _modifiedTicks, now.UtcTicks);

    public void Dispose()
    {
        _early?.Abort("the staged file was closed");
        _sequential?.Dispose();
        _handle.Dispose();
    }

    /// <summary>Closes and removes the file (its content is on the server, or was superseded).</summary>
    public void Delete()
    {
        _early?.Abort("the staged file was deleted");
        _sequential?.Dispose();
        _handle.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // Removed at the next start by the staging sweep at worst.
        }
    }
}
