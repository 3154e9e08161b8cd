using Microsoft.Extensions.Logging;

namespace ScaiDrive.Client;

// Stable event IDs 3000–3099 belong to the client. Messages never carry a token (see TokenSource.Scrub).
internal static partial class Log
{
    [LoggerMessage(3001, LogLevel.Information, "Retry {Attempt} in {Delay} after {Failure}")]
    public static partial void Retrying(ILogger logger, int attempt, TimeSpan delay, string failure);

    [LoggerMessage(3002, LogLevel.Information, "Access token refreshed")]
    public static partial void TokenRefreshed(ILogger logger);

    [LoggerMessage(3003, LogLevel.Warning, "Token refresh failed: {Reason}")]
    public static partial void TokenRefreshFailed(ILogger logger, string reason);

    [LoggerMessage(3004, LogLevel.Debug, "Ranged read of {FileId} resumes at byte {Offset} after {Failure}")]
    public static partial void ReadResuming(ILogger logger, string fileId, long offset, string failure);

    [LoggerMessage(3005, LogLevel.Debug, "Create of {What} lost its response; checking whether it took effect")]
    public static partial void ProbingCreate(ILogger logger, string what);

    [LoggerMessage(3006, LogLevel.Information, "Upload session {SessionId} ready: {Missing} of {Total} chunks to send")]
    public static partial void UploadSessionReady(ILogger logger, string sessionId, int missing, int total);

    [LoggerMessage(3007, LogLevel.Information, "Upload session {SessionId} is gone; starting a new one")]
    public static partial void UploadSessionGone(ILogger logger, string sessionId);

    [LoggerMessage(3008, LogLevel.Information, "Sync socket connected for device {DeviceId}")]
    public static partial void SocketConnected(ILogger logger, string deviceId);

    [LoggerMessage(3009, LogLevel.Warning, "Sync socket dropped ({Reason}); reconnecting in {Delay}")]
    public static partial void SocketDropped(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(3010, LogLevel.Information, "Direct read of {FileId} from {Offset} declined ({Reason}); using the ordinary calls")]
    public static partial void DirectContentDeclined(ILogger logger, string fileId, long offset, string reason);
}
