using System.Text.Json.Serialization;

namespace ScaiDriveFS.Cli.Control;

/// <summary>A request on the daemon's control socket: one JSON line.</summary>
internal sealed record ControlRequest([property: JsonPropertyName("command")] string Command);

/// <summary>What <c>scaidrivefs status</c> prints; the JSON names are the documented interface (<c>pending_uploads</c> …).</summary>
internal sealed record MountStatusReport
{
    [JsonPropertyName("mount_point")] public required string MountPoint { get; init; }
    [JsonPropertyName("server")] public required string Server { get; init; }
    [JsonPropertyName("share")] public string? Share { get; init; }
    [JsonPropertyName("connected")] public required bool Connected { get; init; }
    [JsonPropertyName("pending_uploads")] public required int PendingUploads { get; init; }
    [JsonPropertyName("pending_upload_bytes")] public required long PendingUploadBytes { get; init; }
    [JsonPropertyName("uploaded_bytes_in_flight")] public required long UploadedBytesInFlight { get; init; }
    [JsonPropertyName("failed_uploads")] public required int FailedUploads { get; init; }
    [JsonPropertyName("cache_dir")] public required string CacheDirectory { get; init; }
    [JsonPropertyName("cache_bytes_used")] public required long CacheBytesUsed { get; init; }
    [JsonPropertyName("cache_bytes_limit")] public required long CacheBytesLimit { get; init; }
    [JsonPropertyName("streamed_read_bytes")] public long StreamedReadBytes { get; init; }
    [JsonPropertyName("recent_errors")] public required IReadOnlyList<StatusErrorReport> RecentErrors { get; init; }
    [JsonPropertyName("pid")] public required int ProcessId { get; init; }
    [JsonPropertyName("unmounting")] public bool Unmounting { get; init; }
}

internal sealed record StatusErrorReport(
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("message")] string Message);

/// <summary>One line of the daemon's answer to <c>unmount</c>: progress while draining, then done (or an error).</summary>
internal sealed record UnmountProgress(
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("pending_uploads")] int PendingUploads,
    [property: JsonPropertyName("pending_upload_bytes")] long PendingUploadBytes,
    [property: JsonPropertyName("message")] string? Message = null);

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(MountStatusReport))]
[JsonSerializable(typeof(UnmountProgress))]
internal sealed partial class ControlJsonContext : JsonSerializerContext
{
}
