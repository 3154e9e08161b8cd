using System.Text.Json.Serialization;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// One journal file, <c>&lt;journal&gt;/&lt;key&gt;.json</c>: everything needed to finish an upload after a crash.
/// Plain strings rather than the typed IDs so the on-disk format does not depend on C# type names.
/// </summary>
internal sealed record JournalRecord
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public required string Key { get; init; }

    public required long Generation { get; init; }

    public required string ShareId { get; init; }

    public string? FolderId { get; init; }

    public required string Name { get; init; }

    public string? ReplaceFileId { get; init; }

    public string? BaseVersionId { get; init; }

    public required string StagedPath { get; init; }

    public required long Length { get; init; }

    /// <summary>The resumable session of <see cref="SessionGeneration"/>; resumed only when that equals <see cref="Generation"/>.</summary>
    public string? SessionId { get; init; }

    public long? SessionGeneration { get; init; }

    /// <summary>True for a session opened while the file was written (provisional size): resumed after setting its size.</summary>
    public bool? SessionResizable { get; init; }

    /// <summary>SHA-256 (hex) of the content last sent for this key; recognises our own earlier upload after a race or crash.</summary>
    public string? AttemptedSha256 { get; init; }

    /// <summary>Set when the target was rewritten to a conflict copy: the error kind that caused it.</summary>
    public string? ConflictOf { get; init; }

    /// <summary>A file this key created under an old target that must be deleted once the upload lands.</summary>
    public string? StrayFileId { get; init; }

    public DateTimeOffset EnqueuedAt { get; init; }

    public UploadRequest ToRequest() => new(
        new StagedFileKey(Key),
        new UploadTarget(
            new ShareId(ShareId),
            FolderId is null ? null : new FolderId(FolderId),
            Name,
            ReplaceFileId is null ? null : new FileId(ReplaceFileId),
            BaseVersionId is null ? null : new VersionId(BaseVersionId)),
        StagedPath,
        Length,
        Generation);

    public UploadSessionId? ResumableSession =>
        SessionId is not null && SessionGeneration == Generation ? new UploadSessionId(SessionId) : null;

    public static JournalRecord From(UploadRequest request, DateTimeOffset enqueuedAt) => new()
    {
        Key = request.Key.Value,
        Generation = request.Generation,
        ShareId = request.Target.ShareId.Value,
        FolderId = request.Target.FolderId?.Value,
        Name = request.Target.Name,
        ReplaceFileId = request.Target.ReplaceFileId?.Value,
        BaseVersionId = request.Target.BaseVersionId?.Value,
        StagedPath = request.StagedPath,
        Length = request.Length,
        EnqueuedAt = enqueuedAt,
    };
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JournalRecord))]
[JsonSerializable(typeof(RecoverySidecar))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;
