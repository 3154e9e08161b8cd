using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

/// <summary>The core's stable identity of a locally staged file; also names its staging file and journal record.</summary>
internal readonly record struct StagedFileKey(string Value)
{
    public static StagedFileKey New() => new("stg_" + Guid.NewGuid().ToString("N"));

    public override string ToString() => Value;
}

/// <summary>Where a staged file's content goes: a new file (ReplaceFileId null) or a new version of an existing one.</summary>
internal sealed record UploadTarget(ShareId ShareId, FolderId? FolderId, string Name, FileId? ReplaceFileId, VersionId? BaseVersionId);

/// <summary>One durable request: the staged file at <see cref="StagedPath"/>, <see cref="Length"/> bytes, is generation <see cref="Generation"/> of <see cref="Key"/>.</summary>
internal sealed record UploadRequest(StagedFileKey Key, UploadTarget Target, string StagedPath, long Length, long Generation);

/// <summary>A journal record found at start-up: an upload a previous run did not finish.</summary>
internal sealed record PendingUpload(UploadRequest Request, UploadSessionId? SessionId);

internal sealed record UploadQueueOptions
{
    public required string JournalDirectory { get; init; }

    /// <summary>Where content goes when its upload failed permanently; never dropped.</summary>
    public required string RecoveryDirectory { get; init; }

    public TimeSpan WriteBackDelay { get; init; } = TimeSpan.FromSeconds(1);

    public long SmallUploadThreshold { get; init; } = 8L * 1024 * 1024;

    /// <summary>Files uploaded at once.</summary>
    public int FileParallelism { get; init; } = 8;

    /// <summary>Chunks of one resumable upload in flight.</summary>
    public int ChunkParallelism { get; init; } = 4;
}

/// <summary>A permanent upload failure: the content is in <see cref="RecoveryPath"/>.</summary>
internal sealed record UploadFailure(UploadTarget Target, ScaiDriveErrorKind Kind, string Message, string? RecoveryPath);

/// <summary>
/// The durable write-back queue. <see cref="EnqueueAsync"/> returns once the staged file and a journal record are
/// fsync'd; the upload starts after the write-back delay, unless the key is held for writing again.
/// </summary>
internal sealed partial class UploadQueue : IAsyncDisposable
{
    public UploadQueue(ScaiDriveClient client, UploadQueueOptions options, ILoggerFactory? loggerFactory, TimeProvider timeProvider) => throw new NotImplementedException();

    /// <summary>Loads what a previous run left in the journal and schedules it; the core shows these files as local nodes.</summary>
    public Task<IReadOnlyList<PendingUpload>> RecoverAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Records the request durably and schedules it (after the delay). A higher generation supersedes a lower one.</summary>
    public ValueTask EnqueueAsync(UploadRequest request, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The file is open for writing again: cancel an in-flight upload of it and wait for the next EnqueueAsync.</summary>
    public void Hold(StagedFileKey key) => throw new NotImplementedException();

    /// <summary>Rename or move before the upload finished.</summary>
    public ValueTask RetargetAsync(StagedFileKey key, UploadTarget target, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Deleted locally before it was uploaded: forget it (journal record removed).</summary>
    public ValueTask CancelAsync(StagedFileKey key, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Completes when the latest enqueued generation of <paramref name="key"/> is on the server; throws its permanent error.</summary>
    public Task<FileItem?> WaitForUploadAsync(StagedFileKey key, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Raised after a generation reached the server (journal record already removed).</summary>
    public event Action<StagedFileKey, long, FileItem>? Uploaded { add => throw new NotImplementedException(); remove => throw new NotImplementedException(); }

    /// <summary>Raised after a permanent failure moved the content to the recovery folder.</summary>
    public event Action<StagedFileKey, UploadFailure>? Failed { add => throw new NotImplementedException(); remove => throw new NotImplementedException(); }

    public int PendingCount => throw new NotImplementedException();

    public long PendingBytes => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
