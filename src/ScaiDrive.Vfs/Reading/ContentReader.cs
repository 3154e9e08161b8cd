using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Reading;

/// <summary>Immutable content: one version of one file. Bytes cached under one key are never served for another.</summary>
internal readonly record struct ContentKey(FileId FileId, long Version, long Size, string? ChecksumSha256);

internal sealed record ContentReaderOptions
{
    /// <summary>Directory of the disk tier (sparse file per version plus the ranges present). Kept across remounts.</summary>
    public required string CacheDirectory { get; init; }

    public long DiskLimitBytes { get; init; } = 10L * 1024 * 1024 * 1024;

    /// <summary>One budget for cached and read-ahead blocks in memory.</summary>
    public long MemoryBudgetBytes { get; init; } = 128L * 1024 * 1024;
}

/// <summary>Per-open-handle read state: the sequential-access detector and its read-ahead window.</summary>
internal sealed partial class ReadState
{
}

/// <summary>
/// Serves reads of remote content through a two-tier block cache (memory, then disk) filled by HTTP range requests,
/// with read-ahead for sequential access and one shared fetch per block. Thread-safe.
/// </summary>
internal sealed partial class ContentReader : IAsyncDisposable
{
    public ContentReader(ScaiDriveClient client, ContentReaderOptions options, ILoggerFactory? loggerFactory, TimeProvider timeProvider) => throw new NotImplementedException();

    public ReadState CreateReadState() => throw new NotImplementedException();

    /// <summary>Reads from <paramref name="offset"/>; returns bytes read, 0 at or past the end. Throws ScaiDriveApiException (ContentChanged when the server's version moved on).</summary>
    public ValueTask<int> ReadAsync(ContentKey key, long offset, Memory<byte> destination, ReadState state, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Stops read-ahead of a closed handle.</summary>
    public void Release(ReadState state) => throw new NotImplementedException();

    /// <summary>Drops every cached version of a file (deleted, or a new version arrived and old ones are useless).</summary>
    public void Invalidate(FileId fileId) => throw new NotImplementedException();

    public long MemoryBytesUsed => throw new NotImplementedException();

    public long DiskBytesUsed => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
