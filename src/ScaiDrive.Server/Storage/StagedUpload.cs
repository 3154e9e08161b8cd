using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ScaiDrive.Server.Storage;

/// <summary>
/// The in-memory side of one active resumable upload whose chunks land in one preallocated session file
/// (<c>uploads/&lt;session&gt;/data</c>), each written at its offset as it arrives, in any order and in parallel.
/// </summary>
/// <remarks>
/// <para>
/// The whole file's SHA-256 (the blob's name) cannot be composed from chunk hashes, and hashing a GiB at
/// <c>/complete</c> would stall the caller for seconds. So a background task (the "hasher") hashes the contiguous
/// prefix of received chunks while the upload goes on: chunks usually arrive nearly in order, and the hasher reads
/// them back from the page cache. It also fsyncs the session file every <see cref="FlushEvery"/> bytes, so the
/// flush that makes the blob durable at <c>/complete</c> has little left to write. <see cref="SealAsync"/> stops it,
/// hashes whatever is left and flushes; the file is then renamed into the blob store (same filesystem: no copy).
/// </para>
/// <para>
/// Rewriting a chunk the hasher may already have read (a re-PUT) bumps <c>_generation</c>; the hasher notices and
/// starts over from offset 0. Re-PUTs are rare (a retry after a lost answer), so that is cheaper than tracking
/// which bytes it saw. A chunk is "received" only once its bytes are written, verified and recorded in the
/// database; a chunk being written is never received, so the hasher never reads a half-written chunk.
/// </para>
/// <para>
/// The hash state is memory only: after a restart the state is rebuilt from the database and the hasher starts
/// again at offset 0.
/// </para>
/// </remarks>
internal sealed class StagedUpload
{
    /// <summary>How much newly hashed prefix triggers a background fsync of the session file.</summary>
    public const long FlushEvery = 64L * 1024 * 1024;

    public const string DataFileName = "data";

    private readonly Lock _lock = new();
    private readonly int _chunkSize;
    private long _fileSize; // written under _lock (TryResize); read with Volatile
    private int _totalChunks; // guarded by _lock

    // Guarded by _lock.
    private bool[] _received;
    private bool[] _writing;
    private int _generation;
    private int _position;
    private bool _sealed;
    private bool _retired;
    private bool _sealing;
    private Task? _hasher;

    // Owned by whoever advances the hash: the hasher task, or SealAsync once that task has stopped (never both).
    private readonly IncrementalHash _whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash? _index;
    private readonly List<IndexedChunk>? _indexChunks;
    private long _indexFill;
    private int _hashedGeneration;
    private long _flushedUpTo;

    public StagedUpload(string path, long fileSize, int chunkSize, int totalChunks, IEnumerable<int> received)
    {
        Path = path;
        _fileSize = fileSize;
        _chunkSize = chunkSize;
        _totalChunks = totalChunks;
        _received = new bool[totalChunks];
        _writing = new bool[totalChunks];
        foreach (int index in received)
        {
            _received[index] = true;
        }

        if (chunkSize != BlobStore.IndexChunkSize)
        {
            // The dedup index is kept per 4 MiB; with other chunk sizes the hasher builds it in the same pass.
            _index = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            _indexChunks = [];
        }
    }

    /// <summary>The session file.</summary>
    public string Path { get; }

    /// <summary>Serializes <c>/complete</c> calls of this session (a retry after a lost answer may overlap the first).</summary>
    public SemaphoreSlim CompleteGate { get; } = new(1, 1);

    /// <summary>Creates the session file at its full length, so chunks can be written at their offsets.</summary>
    public static void CreateFile(string path, long length)
    {
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, FileOptions.None, preallocationSize: length);
        RandomAccess.SetLength(handle, length);
    }

    /// <summary>Opens the session file for a chunk write, (re)creating it at its full length when it is missing.</summary>
    public SafeFileHandle OpenForWrite()
    {
        SafeFileHandle handle = File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        long size = Volatile.Read(ref _fileSize);
        if (RandomAccess.GetLength(handle) != size)
        {
            RandomAccess.SetLength(handle, size);
        }

        return handle;
    }

    public long Offset(int index) => (long)index * _chunkSize;

    public int Length(int index) => LengthUnder(Volatile.Read(ref _fileSize), index);

    private int LengthUnder(long fileSize, int index) => (int)Math.Min(_chunkSize, fileSize - Offset(index));

    /// <summary>
    /// Changes the session's size (our PATCH extension). False, and nothing changes, when the session is sealed or a
    /// chunk received or being written would not keep its length under <paramref name="newSize"/>. Bytes already
    /// hashed stay valid: they belong to received chunks, which keep their place and length.
    /// </summary>
    public bool TryResize(long newSize, int newTotalChunks)
    {
        lock (_lock)
        {
            if (_sealed)
            {
                return false;
            }

            long oldSize = _fileSize;
            for (int i = 0; i < _totalChunks; i++)
            {
                if ((_received[i] || _writing[i]) && (i >= newTotalChunks || LengthUnder(newSize, i) != LengthUnder(oldSize, i)))
                {
                    return false;
                }
            }

            using (SafeFileHandle file = File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            {
                RandomAccess.SetLength(file, newSize);
            }

            Array.Resize(ref _received, newTotalChunks);
            Array.Resize(ref _writing, newTotalChunks);
            if (_position > newTotalChunks)
            {
                _generation++;
            }

            Volatile.Write(ref _fileSize, newSize);
            _totalChunks = newTotalChunks;
            StartHasherUnsynchronized();
            return true;
        }
    }

    /// <summary>
    /// Claims chunk <paramref name="index"/> for a write: it stops counting as received until <see cref="EndWrite"/>.
    /// False once the session is sealed by <c>/complete</c>. <paramref name="wasReceived"/> tells the caller to drop
    /// the chunk's database record before touching its bytes, so a write that fails half-way is never trusted.
    /// </summary>
    public bool TryBeginWrite(int index, out bool wasReceived)
    {
        lock (_lock)
        {
            wasReceived = false;
            if (_sealed || index >= _totalChunks)
            {
                return false;
            }

            _writing[index] = true;
            if (_received[index])
            {
                _received[index] = false;
                wasReceived = true;
                if (index <= _position)
                {
                    // The hasher has read, or may be reading, these bytes.
                    _generation++;
                }
            }

            return true;
        }
    }

    /// <summary>Marks a chunk received once it is on disk and recorded, and lets the hasher move on.</summary>
    public void EndWrite(int index, bool received)
    {
        lock (_lock)
        {
            if (index < _writing.Length)
            {
                _writing[index] = false;
            }

            if (!received)
            {
                return;
            }

            _received[index] = true;
            StartHasherUnsynchronized();
        }
    }

    /// <summary>
    /// Stops new writes and the hasher, hashes the rest and flushes the session file. Null (and still unsealed) when
    /// chunks are missing; then the caller answers 409 with <paramref name="missing"/>. On success, <see cref="Unseal"/>
    /// reopens the session if completion fails later on (quota, checksum, conflict).
    /// </summary>
    public async Task<SealedContent?> SealAsync(List<int> missing, CancellationToken cancellationToken)
    {
        Task? running;
        lock (_lock)
        {
            for (int i = 0; i < _totalChunks; i++)
            {
                if (!_received[i])
                {
                    missing.Add(i);
                }
            }

            if (missing.Count > 0)
            {
                return null;
            }

            _sealed = true;
            _sealing = true;
            running = _hasher;
        }

        try
        {
            if (running is not null)
            {
                // Stops at its next step because the session is sealed.
                await running.ConfigureAwait(false);
            }

            return await Task.Run(
                () =>
                {
                    using SafeFileHandle file = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                    while (Step(file, untilEnd: true, cancellationToken))
                    {
                    }

                    // A chunk write that opened the file just before a resize may have set the old length back.
                    if (RandomAccess.GetLength(file) != _fileSize)
                    {
                        RandomAccess.SetLength(file, _fileSize);
                    }

                    RandomAccess.FlushToDisk(file);
                    _flushedUpTo = _fileSize;
                    if (_index is not null && (_indexFill > 0 || _fileSize == 0))
                    {
                        CloseIndexChunk();
                    }

                    return new SealedContent(Convert.ToHexStringLower(_whole.GetCurrentHash()), _fileSize, _indexChunks?.ToArray());
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Unseal();
            throw;
        }
        finally
        {
            lock (_lock)
            {
                _sealing = false;
                if (_retired)
                {
                    DisposeHashesUnsynchronized();
                }
            }
        }
    }

    /// <summary>Reopens a sealed session for writes after a completion that failed.</summary>
    public void Unseal()
    {
        lock (_lock)
        {
            _sealed = false;
            if (_index is not null)
            {
                // The whole-file hash is still usable (GetCurrentHash), but SealAsync may have closed a partial
                // index chunk; starting over keeps the two consistent.
                _generation++;
            }

            StartHasherUnsynchronized();
        }
    }

    /// <summary>Drops the session's in-memory state (completed, aborted or expired); a running hasher stops at its next step.</summary>
    public void Retire()
    {
        lock (_lock)
        {
            _sealed = true;
            _retired = true;
            if (_hasher is null && !_sealing)
            {
                DisposeHashesUnsynchronized();
            }
        }
    }

    private void StartHasherUnsynchronized()
    {
        if (_hasher is null && !_sealed && _position < _totalChunks && _received[_position])
        {
            _hasher = Task.Run(RunHasher);
        }
    }

    private void RunHasher()
    {
        try
        {
            using SafeFileHandle file = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            while (Step(file, untilEnd: false, CancellationToken.None))
            {
                if (HashedBytes() - _flushedUpTo >= FlushEvery)
                {
                    RandomAccess.FlushToDisk(file);
                    _flushedUpTo = HashedBytes();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // The session was aborted or completed under us (file gone), or the disk failed: SealAsync redoes the
            // remaining work on the request that needs it and reports errors there.
            lock (_lock)
            {
                _generation++;
            }
        }
        finally
        {
            lock (_lock)
            {
                _hasher = null;
                if (_retired)
                {
                    DisposeHashesUnsynchronized();
                }
                else
                {
                    // A chunk may have arrived between the last step and now.
                    StartHasherUnsynchronized();
                }
            }
        }
    }

    private long HashedBytes()
    {
        lock (_lock)
        {
            return Math.Min(_fileSize, Offset(_position));
        }
    }

    /// <summary>
    /// Hashes the next chunk of the contiguous prefix. False when there is nothing to do: the prefix ends at a chunk
    /// not received yet, the file is done, or (for the background hasher) the session was sealed.
    /// </summary>
    private bool Step(SafeFileHandle file, bool untilEnd, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int index;
        int generation;
        lock (_lock)
        {
            if (_generation != _hashedGeneration)
            {
                ResetHashesUnsynchronized();
            }

            if ((_sealed && !untilEnd) || _position >= _totalChunks || !_received[_position])
            {
                return false;
            }

            index = _position;
            generation = _generation;
        }

        // The whole chunk is read before any of it is hashed: if it was rewritten meanwhile, nothing is appended.
        int length = Length(index);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            long offset = Offset(index);
            int filled = 0;
            while (filled < length)
            {
                int read = RandomAccess.Read(file, buffer.AsSpan(filled, length - filled), offset + filled);
                if (read == 0)
                {
                    throw new EndOfStreamException($"The session file {Path} ends at {offset + filled}.");
                }

                filled += read;
            }

            lock (_lock)
            {
                if (_generation != generation)
                {
                    // Rewritten while we read; the next step starts over.
                    return true;
                }
            }

            Append(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        lock (_lock)
        {
            Debug.Assert(_position == index, "only one party advances the hash");
            _position = index + 1;
        }

        return true;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        _whole.AppendData(data);
        if (_index is null)
        {
            return;
        }

        while (!data.IsEmpty)
        {
            int take = (int)Math.Min(data.Length, BlobStore.IndexChunkSize - _indexFill);
            _index.AppendData(data[..take]);
            _indexFill += take;
            data = data[take..];
            if (_indexFill == BlobStore.IndexChunkSize)
            {
                CloseIndexChunk();
            }
        }
    }

    private void CloseIndexChunk()
    {
        string sha = Convert.ToHexStringLower(_index!.GetHashAndReset());
        _indexChunks!.Add(new IndexedChunk(sha, _indexChunks.Count * (long)BlobStore.IndexChunkSize, _indexFill));
        _indexFill = 0;
    }

    private void ResetHashesUnsynchronized()
    {
        _whole.GetHashAndReset();
        _index?.GetHashAndReset();
        _indexChunks?.Clear();
        _indexFill = 0;
        _position = 0;
        _flushedUpTo = 0;
        _hashedGeneration = _generation;
    }

    private void DisposeHashesUnsynchronized()
    {
        _whole.Dispose();
        _index?.Dispose();
    }
}

/// <summary>A sealed session file: its SHA-256, size, and (for chunk sizes other than 4 MiB) its dedup index chunks.</summary>
internal sealed record SealedContent(string Sha256, long Size, IReadOnlyList<IndexedChunk>? IndexChunks);
