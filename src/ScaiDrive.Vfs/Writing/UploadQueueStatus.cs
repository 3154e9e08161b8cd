using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

internal enum UploadState
{
    /// <summary>Waiting out the write-back delay (or queued for a free upload slot).</summary>
    Waiting,

    /// <summary>Open for writing again; nothing is sent until the next EnqueueAsync.</summary>
    Held,

    Uploading,

    /// <summary>A transient error; the next attempt is at <see cref="PendingUploadStatus.NextAttemptAt"/>.</summary>
    RetryWait,
}

/// <summary>How a permanent failure was dealt with; in every case the data still exists somewhere.</summary>
internal enum UploadFailureDisposition
{
    /// <summary>The content is in the recovery folder (<see cref="UploadFailure.RecoveryPath"/>).</summary>
    MovedToRecovery,

    /// <summary>The server's file changed meanwhile (or the name was taken): the content was uploaded as a new file
    /// named "name (conflict …).ext" beside it (<see cref="UploadFailure.ConflictCopy"/>).</summary>
    ConflictCopied,

    /// <summary>The staged file itself was gone (deleted behind the queue's back): nothing could be rescued.</summary>
    ContentMissing,
}

internal sealed record PendingUploadStatus(
    StagedFileKey Key,
    UploadTarget Target,
    long Length,
    long Generation,
    UploadState State,
    int Attempts,
    long BytesUploaded,
    string? LastError,
    DateTimeOffset? NextAttemptAt);

/// <summary>A snapshot for <c>scaidrivefs status</c> and unmount progress.</summary>
internal sealed record UploadQueueStatus(
    int PendingCount,
    long PendingBytes,
    int UploadingCount,
    long InFlightBytesUploaded,
    int HeldCount,
    int RetryingCount,
    long TransientErrors,
    long CompletedCount,
    IReadOnlyList<UploadFailure> Failures,
    IReadOnlyList<PendingUploadStatus> Items);

/// <summary>Thrown by <see cref="UploadQueue.WaitForUploadAsync"/> when the generation waited for failed permanently.</summary>
internal sealed class UploadFailedException : Exception
{
    public UploadFailedException(UploadFailure failure, Exception? innerException)
        : base(failure.Message, innerException)
    {
        Failure = failure;
    }

    public UploadFailure Failure { get; }

    public ScaiDriveErrorKind Kind => Failure.Kind;
}
