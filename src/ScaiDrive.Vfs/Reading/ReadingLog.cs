using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Reading;

/// <summary>Log messages of the read path. Event IDs 4100–4199 belong to Reading.</summary>
internal static partial class ReadingLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Debug, Message = "Read-ahead of {FileId} v{Version} [{Start}, {End}) failed; its blocks will be fetched on demand")]
    public static partial void ReadAheadFailed(ILogger logger, FileId fileId, long version, long start, long end, Exception exception);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Disk cache I/O failed for {FileId} v{Version}; dropping its cached copy")]
    public static partial void DiskIoFailed(ILogger logger, FileId fileId, long version, Exception exception);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Disk cache loaded: {Files} files, {Bytes} bytes")]
    public static partial void DiskLoaded(ILogger logger, int files, long bytes);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "Disk cache evicted {FileId} v{Version} ({Bytes} bytes)")]
    public static partial void DiskEvicted(ILogger logger, FileId fileId, long version, long bytes);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Disk cache record {Path} is unreadable; discarding it")]
    public static partial void DiskRecordDiscarded(ILogger logger, string path, Exception? exception);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Debug, Message = "Disk cache full: not keeping [{Start}, {End}) of {FileId}")]
    public static partial void DiskFull(ILogger logger, FileId fileId, long start, long end);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Error, Message = "Disk cache writer stopped")]
    public static partial void DiskWriterStopped(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Debug, Message = "Streamed run of {FileId} v{Version} from {Start}")]
    public static partial void StreamedRunStarted(ILogger logger, FileId fileId, long version, long start);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Information, Message = "Streamed run of {FileId} v{Version} ended at {Position} ({Reason}); block read-ahead serves the rest")]
    public static partial void StreamedRunEnded(ILogger logger, FileId fileId, long version, long position, string reason);
}
