using Microsoft.Extensions.Logging;

namespace ScaiDrive.WinFsp;

internal static partial class Log
{
    [LoggerMessage(EventId = 8001, Level = LogLevel.Warning, Message = "Refreshing volume size from the quota failed")]
    public static partial void VolumeRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Error, Message = "A WinFsp operation failed unexpectedly")]
    public static partial void OperationFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "Cleanup of {Path} failed with NTSTATUS 0x{Status:X8}; Windows cannot be told")]
    public static partial void CleanupFailed(ILogger logger, string path, int status);

    [LoggerMessage(EventId = 8004, Level = LogLevel.Warning, Message = "Close of {Path} failed with NTSTATUS 0x{Status:X8}")]
    public static partial void CloseFailed(ILogger logger, string path, int status);

    [LoggerMessage(EventId = 8005, Level = LogLevel.Error, Message = "Sending a pending response to WinFsp failed")]
    public static partial void SendResponseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8006, Level = LogLevel.Warning, Message = "A change notification for {Path} could not be delivered (NTSTATUS 0x{Status:X8})")]
    public static partial void NotifyFailed(ILogger logger, string path, int status);

    [LoggerMessage(EventId = 8007, Level = LogLevel.Error, Message = "An exception reached the WinFsp callback boundary")]
    public static partial void CallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8008, Level = LogLevel.Information, Message = "Mounted {MountPoint} through WinFsp ({Device})")]
    public static partial void Mounted(ILogger logger, string mountPoint, string device);

    [LoggerMessage(EventId = 8009, Level = LogLevel.Information, Message = "Unmounted {MountPoint}")]
    public static partial void Unmounted(ILogger logger, string mountPoint);
}
