using Microsoft.Extensions.Logging;

namespace ScaiDrive.Fuse;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "FUSE {Operation} failed unexpectedly; answered errno {Errno}")]
    public static partial void RequestFailed(ILogger logger, string operation, int errno, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "FUSE {Operation} answered errno {Errno}: {Reason}")]
    public static partial void RequestError(ILogger logger, string operation, int errno, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "FUSE loop for {MountPoint} ended (result {Result})")]
    public static partial void LoopEnded(ILogger logger, string mountPoint, int result);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "{Count} FUSE requests still running {Timeout} after the loop ended; their replies are dropped")]
    public static partial void DrainTimedOut(ILogger logger, long count, TimeSpan timeout);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "FUSE ready at {MountPoint}: protocol {Major}.{Minor}, libfuse {LibraryVersion}, max_write {MaxWrite}, max_readahead {MaxReadahead}, max_background {MaxBackground}, {Threads}")]
    public static partial void Initialized(ILogger logger, string mountPoint, uint major, uint minor, int libraryVersion, uint maxWrite, uint maxReadahead, uint maxBackground, string threads);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Could not hand a FUSE request to the filesystem; answered errno")]
    public static partial void DispatchFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Kernel cache invalidation of inode {Inode} answered {Result}")]
    public static partial void NotifyResult(ILogger logger, ulong inode, int result);

    [LoggerMessage(EventId = 8, Level = LogLevel.Debug, Message = "read_ahead_kb of {Path} set to {Kilobytes}")]
    public static partial void ReadAheadSet(ILogger logger, string path, int kilobytes);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Could not raise read_ahead_kb of {MountPoint}: {Reason}")]
    public static partial void ReadAheadFailed(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Unmounting {MountPoint} (lazy)")]
    public static partial void Unmounting(ILogger logger, string mountPoint);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "{MountPoint} still busy {Timeout} after the lazy unmount; aborting the FUSE connection {Connection}")]
    public static partial void Aborting(ILogger logger, string mountPoint, TimeSpan timeout, string connection);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Cleaned a stale FUSE mount at {MountPoint} (transport endpoint not connected)")]
    public static partial void StaleMountCleaned(ILogger logger, string mountPoint);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Unmount of {MountPoint} failed: {Reason}")]
    public static partial void UnmountFailed(ILogger logger, string mountPoint, string reason);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Streamed reads are not spliced: {Reason}; they use the ordinary read path")]
    public static partial void SpliceUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "Streamed reads are spliced into the kernel (reads of up to {Kilobytes} KiB)")]
    public static partial void SpliceEnabled(ILogger logger, int kilobytes);
}
