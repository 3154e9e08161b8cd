using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

// Event IDs 5100–5199 belong to the upload queue. Names and IDs only: never content, never a token.
internal sealed partial class UploadQueue
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Debug, Message = "Enqueued {Key} generation {Generation} ({Length} bytes)")]
    private partial void LogEnqueued(StagedFileKey key, long generation, long length);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "Uploading {Key} generation {Generation} ({Length} bytes, session {SessionId})")]
    private partial void LogUploadStarted(StagedFileKey key, long generation, long length, string? sessionId);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Uploaded {Key} generation {Generation} as {FileId} version {Version}")]
    private partial void LogUploaded(StagedFileKey key, long generation, FileId fileId, long version);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Upload of {Key} ('{Name}') failed (attempt {Attempt}, {Kind}: {Error}); retrying in {Delay}")]
    private partial void LogTransientError(StagedFileKey key, string name, int attempt, TimeSpan delay, ScaiDriveErrorKind kind, string error);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Error, Message = "Upload of {Key} ('{Name}') failed permanently ({Kind}: {Error}); content kept at {RecoveryPath}")]
    private partial void LogPermanentFailure(StagedFileKey key, string name, ScaiDriveErrorKind kind, string recoveryPath, string error);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Warning, Message = "{Key}: '{Name}' hit {Kind} on the server; keeping both, the local content goes up as '{ConflictName}'")]
    private partial void LogConflictCopy(StagedFileKey key, string name, string conflictName, ScaiDriveErrorKind kind);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Information, Message = "{Key}: upload session {SessionId} is {Kind} on the server; starting a new one")]
    private partial void LogSessionRestart(StagedFileKey key, string sessionId, ScaiDriveErrorKind kind);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Information, Message = "Recovered {Count} pending upload(s) from the journal")]
    private partial void LogRecovered(int count);

    [LoggerMessage(EventId = 5108, Level = LogLevel.Error, Message = "Journal record {Key} points at a missing staged file {StagedPath}; its record is kept in the recovery folder")]
    private partial void LogRecoveredMissing(StagedFileKey key, string stagedPath);

    [LoggerMessage(EventId = 5109, Level = LogLevel.Error, Message = "Unreadable journal record {Path} renamed to .corrupt")]
    private partial void LogCorruptRecord(string path, Exception exception);

    [LoggerMessage(EventId = 5110, Level = LogLevel.Critical, Message = "Could not copy {Key} into the recovery folder; its journal record stays")]
    private partial void LogRescueFailed(StagedFileKey key, Exception exception);

    [LoggerMessage(EventId = 5111, Level = LogLevel.Debug, Message = "Aborting upload session {SessionId} failed: {Error}")]
    private partial void LogAbortFailed(UploadSessionId sessionId, string error);

    [LoggerMessage(EventId = 5112, Level = LogLevel.Error, Message = "An {Event} handler threw")]
    private partial void LogHandlerFailed(string @event, Exception exception);

    [LoggerMessage(EventId = 5113, Level = LogLevel.Warning, Message = "Could not delete superseded upload {FileId}: {Error}")]
    private partial void LogStrayDeleteFailed(FileId fileId, string error);

    [LoggerMessage(EventId = 5114, Level = LogLevel.Information, Message = "{Key}: the server already has this content as {FileId}; not uploading it twice")]
    private partial void LogAlreadyThere(StagedFileKey key, FileId fileId);
}
