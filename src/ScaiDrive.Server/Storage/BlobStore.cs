using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ScaiDrive.Server.Storage;

/// <summary>
/// Content as immutable files named by their SHA-256 under <c>blobs/ab/cd/&lt;sha256&gt;</c>: identical content is
/// stored once, and copies and versions share it. A blob is written to <c>tmp/</c>, fsync'd, then renamed into
/// place, so a blob path that exists is always complete. Metadata rows point at blobs only after that rename.
/// </summary>
internal sealed class BlobStore
{
    /// <summary>Granularity of the dedup index (the client's default chunk size).</summary>
    public const int IndexChunkSize = 4 * 1024 * 1024;

    public const int CopyBufferSize = 1024 * 1024;

    private readonly string _blobRoot;
    private readonly string _tempRoot;

    public BlobStore(string dataDirectory)
    {
        _blobRoot = Path.Combine(dataDirectory, "blobs");
        _tempRoot = Path.Combine(dataDirectory, "tmp");
        Directory.CreateDirectory(_blobRoot);
        Directory.CreateDirectory(_tempRoot);
        foreach (string stale in Directory.EnumerateFiles(_tempRoot))
        {
            // Leftovers of writes a crash interrupted; nothing points at them.
            File.Delete(stale);
        }
    }

    public string PathOf(string sha256) => Path.Combine(_blobRoot, sha256[..2], sha256[2..4], sha256);

    public bool Exists(string sha256) => File.Exists(PathOf(sha256));

    public BlobWriter CreateWriter() => new(this, Path.Combine(_tempRoot, Guid.NewGuid().ToString("N")), null);

    /// <summary>
    /// A writer for content whose 4 MiB chunk hashes are already known (a resumable upload with 4 MiB chunks hashed
    /// each chunk as it arrived), so the index hashing is skipped: one SHA-256 pass instead of two.
    /// </summary>
    public BlobWriter CreateWriter(IReadOnlyList<IndexedChunk> knownChunks) => new(this, Path.Combine(_tempRoot, Guid.NewGuid().ToString("N")), knownChunks);

    /// <summary>Moves a finished temp file into place (or drops it when the same content is already stored).</summary>
    internal void Publish(string tempPath, string sha256)
    {
        string target = PathOf(sha256);
        if (File.Exists(target))
        {
            File.Delete(tempPath);
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(tempPath, target, overwrite: true);
    }

    /// <summary>
    /// Moves a sealed, fsync'd resumable-upload session file into place (same filesystem: a rename, no copy). False
    /// when the same content is already stored; the session file is then left for its owner to delete.
    /// </summary>
    internal bool PublishFile(string path, string sha256)
    {
        string target = PathOf(sha256);
        if (File.Exists(target))
        {
            return false;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(path, target, overwrite: false);
        return true;
    }

    /// <summary>Undoes <see cref="PublishFile"/> when the transaction that was to point at the blob fails.</summary>
    internal void Unpublish(string path, string sha256) => File.Move(PathOf(sha256), path, overwrite: false);

    public void Delete(string sha256)
    {
        string path = PathOf(sha256);
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <summary>A handle for positional reads (<see cref="RandomAccess"/>), hinted sequential like <see cref="OpenRead"/>.</summary>
    public static SafeFileHandle OpenReadHandle(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);

    public static FileStream OpenRead(string path) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.Read | FileShare.Delete,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            BufferSize = 0,
        });
}

/// <summary>
/// Streams content into a temp file while computing its SHA-256 and the SHA-256 of each 4 MiB-aligned chunk
/// (the dedup index). Nothing is buffered beyond one pooled copy buffer.
/// </summary>
internal sealed class BlobWriter : IAsyncDisposable
{
    private readonly BlobStore _store;
    private readonly string _tempPath;
    private readonly FileStream _file;
    private readonly IncrementalHash _whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _chunk = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<IndexedChunk> _chunks = [];
    private readonly bool _hashChunks;
    private long _chunkFill;
    private bool _published;

    internal BlobWriter(BlobStore store, string tempPath, IReadOnlyList<IndexedChunk>? knownChunks)
    {
        _store = store;
        _tempPath = tempPath;
        _hashChunks = knownChunks is null;
        if (knownChunks is not null)
        {
            _chunks.AddRange(knownChunks);
        }

        _file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous);
    }

    public long Length { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _file.WriteAsync(data, cancellationToken);
        _whole.AppendData(data.Span);
        if (!_hashChunks)
        {
            Length += data.Length;
            return;
        }

        ReadOnlySpan<byte> rest = data.Span;
        while (!rest.IsEmpty)
        {
            int take = (int)Math.Min(rest.Length, BlobStore.IndexChunkSize - _chunkFill);
            _chunk.AppendData(rest[..take]);
            _chunkFill += take;
            rest = rest[take..];
            if (_chunkFill == BlobStore.IndexChunkSize)
            {
                CloseChunk();
            }
        }

        Length += data.Length;
    }

    /// <summary>Copies a whole stream in, failing with <paramref name="tooLarge"/> as soon as it passes <paramref name="limit"/>.</summary>
    public async Task CopyFromAsync(Stream source, long limit, Func<Exception> tooLarge, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BlobStore.CopyBufferSize);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BlobStore.CopyBufferSize), cancellationToken)) > 0)
            {
                if (Length + read > limit)
                {
                    throw tooLarge();
                }

                await WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Flushes the content to disk and fixes its hash. Slow; call it outside the database gate.</summary>
    public async Task<Domain.StoredBlobInfo> FinishAsync(CancellationToken cancellationToken)
    {
        if (_hashChunks && (_chunkFill > 0 || Length == 0))
        {
            CloseChunk();
        }

        await _file.FlushAsync(cancellationToken);
        _file.Flush(flushToDisk: true);
        await _file.DisposeAsync();
        Sha256 = Convert.ToHexStringLower(_whole.GetHashAndReset());
        return new Domain.StoredBlobInfo(Length);
    }

    /// <summary>The content's SHA-256 once <see cref="FinishAsync"/> ran.</summary>
    public string? Sha256 { get; private set; }

    /// <summary>
    /// Moves the finished content into the store. Called under the database gate, in the transaction that makes
    /// a version point at it, so blob GC (also under the gate) can never delete it in between.
    /// </summary>
    public StoredBlob PublishUnderGate()
    {
        string sha = Sha256 ?? throw new InvalidOperationException("FinishAsync first");
        if (!_published)
        {
            _store.Publish(_tempPath, sha);
            _published = true;
        }

        return new StoredBlob(sha, Length, _chunks);
    }

    private void CloseChunk()
    {
        // Every chunk but the last is exactly IndexChunkSize long, so the offset follows from the count.
        string sha = Convert.ToHexStringLower(_chunk.GetHashAndReset());
        _chunks.Add(new IndexedChunk(sha, _chunks.Count * (long)BlobStore.IndexChunkSize, _chunkFill));
        _chunkFill = 0;
    }

    public async ValueTask DisposeAsync()
    {
        _whole.Dispose();
        _chunk.Dispose();
        if (!_published)
        {
            await _file.DisposeAsync();

            try
            {
                File.Delete(_tempPath);
            }
            catch (IOException)
            {
                // Swept at the next start.
            }
        }
    }
}

internal sealed record IndexedChunk(string Sha256, long Offset, long Length);

internal sealed record StoredBlob(string Sha256, long Size, IReadOnlyList<IndexedChunk> Chunks);
