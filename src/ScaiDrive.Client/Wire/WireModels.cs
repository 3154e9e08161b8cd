using System.Text.Json;
using System.Text.Json.Serialization;

namespace ScaiDrive.Client.Wire;

// Wire shapes of docs/scaidrive-api.md (§4–§12, §21). Every field is optional here: the server is the
// authority and the docs disagree in places, so a missing field is mapped to a default in WireMapping
// rather than failing deserialization. Names are snake_case through the source-generated context.

internal sealed class ErrorBodyDto
{
    // Either a string (shape A) or an array of validation entries (422).
    public JsonElement? Detail { get; set; }
    public ErrorDto? Error { get; set; }
    public MetaDto? Meta { get; set; }
}

internal sealed class ErrorDto
{
    public string? Code { get; set; }
    public string? Message { get; set; }
    public double? RetryAfter { get; set; }
}

internal sealed class MetaDto
{
    public string? RequestId { get; set; }
}

internal sealed class UserDto
{
    public string? Id { get; set; }
    public string? Email { get; set; }
    public string? Name { get; set; }
    public string? TenantId { get; set; }
}

internal sealed class ShareDto
{
    public string? Id { get; set; }
    public string? Name { get; set; }
    public string? Type { get; set; }
    public string? ShareType { get; set; }
    public string? Role { get; set; }
    public string? OwnerId { get; set; }
    public long? QuotaBytes { get; set; }
    public long? UsedBytes { get; set; }
    public DateTimeOffset? CreatedAt { get; set; }
}

internal sealed class ShareListDto
{
    public List<ShareDto>? Shares { get; set; }
    public int? Total { get; set; }
}

internal sealed class QuotaDto
{
    public long? UsedBytes { get; set; }
    public long? QuotaBytes { get; set; }
}

/// <summary>A file or folder object; <c>/children</c> items tell them apart by <see cref="Type"/>.</summary>
internal sealed class ItemDto
{
    public string? Id { get; set; }
    public string? Type { get; set; }
    public string? ShareId { get; set; }
    public string? FolderId { get; set; }
    public string? ParentId { get; set; }
    public string? Name { get; set; }
    public string? Path { get; set; }
    public string? MimeType { get; set; }
    public long? Size { get; set; }
    public string? ChecksumSha256 { get; set; }
    public long? Version { get; set; }
    public string? VersionId { get; set; }
    public DateTimeOffset? CreatedAt { get; set; }
    public DateTimeOffset? ModifiedAt { get; set; }
    public bool? IsDeleted { get; set; }
    public string? FileId { get; set; }
}

internal sealed class ChildrenDto
{
    public List<ItemDto>? Items { get; set; }
    public string? Path { get; set; }
    public int? Total { get; set; }
}

internal sealed class VersionDto
{
    public string? Id { get; set; }
    public long? VersionNumber { get; set; }
    public long? Size { get; set; }
    public string? ChecksumSha256 { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset? CreatedAt { get; set; }
}

internal sealed class VersionListDto
{
    public List<VersionDto>? Versions { get; set; }
    public int? Total { get; set; }
}

internal sealed class VersionRestoreDto
{
    public string? Id { get; set; }
    public long? RestoredFromVersion { get; set; }
    public long? Version { get; set; }
}

internal sealed class CreateUploadDto
{
    public required string ShareId { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FolderId { get; set; }
    public required string FileName { get; set; }
    public long FileSize { get; set; }
    public int ChunkSize { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MimeType { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ChecksumSha256 { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReplaceFileId { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BaseVersionId { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? ChunkHashes { get; set; }
}

internal sealed class UploadSessionDto
{
    public string? SessionId { get; set; }
    public string? Id { get; set; }
    public string? ShareId { get; set; }
    public string? FolderId { get; set; }
    public string? FileName { get; set; }
    public long? FileSize { get; set; }
    public int? ChunkSize { get; set; }
    public int? TotalChunks { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public string? Status { get; set; }
    public List<int>? ReceivedChunks { get; set; }
    public List<int>? MissingChunks { get; set; }
    public List<int>? ExistingChunks { get; set; }
    public long? BytesReceived { get; set; }
    public string? ReplaceFileId { get; set; }
    public string? FileId { get; set; }
}

internal sealed class ChunkReceiptDto
{
    public int? Index { get; set; }
    public long? Size { get; set; }
    public string? Sha256 { get; set; }
    public int? ReceivedChunksCount { get; set; }
}

internal sealed class ChangeDto
{
    public string? Id { get; set; }
    public string? ShareId { get; set; }
    public string? ResourceType { get; set; }
    public string? ResourceId { get; set; }
    public string? ChangeType { get; set; }
    public string? ChangedBy { get; set; }
    public DateTimeOffset? ChangedAt { get; set; }
    public string? OldPath { get; set; }
    public string? NewPath { get; set; }
    public string? VersionId { get; set; }
    public ChangeMetadataDto? Metadata { get; set; }
    public long? Position { get; set; }
}

internal sealed class ChangeMetadataDto
{
    public long? Size { get; set; }
    public string? MimeType { get; set; }
    public string? ChecksumSha256 { get; set; }
    public long? Version { get; set; }
    public string? FolderId { get; set; }
    public string? ParentId { get; set; }
    public string? Name { get; set; }
}

internal sealed class ChangesDto
{
    public List<ChangeDto>? Changes { get; set; }
    // A JSON number today, a string tomorrow: the cursor is opaque (§1.5).
    public JsonElement? Cursor { get; set; }
    public bool? HasMore { get; set; }
    public string? ShareId { get; set; }
}

internal sealed class SyncStatusDto
{
    public JsonElement? CursorPosition { get; set; }
    public DateTimeOffset? LastSyncAt { get; set; }
    public long? PendingChanges { get; set; }
    public bool? HasConflicts { get; set; }
}

internal sealed class DeviceDto
{
    public required string DeviceId { get; set; }
    public required string DeviceName { get; set; }
    public required string Platform { get; set; }
    public required string ClientVersion { get; set; }
}

internal sealed class SocketFrameDto
{
    public string? Type { get; set; }
    public string? EventType { get; set; }
    public string? ShareId { get; set; }
    public ChangeDto? Data { get; set; }
}

internal sealed class TokenResponseDto
{
    public string? AccessToken { get; set; }
    public string? RefreshToken { get; set; }
    public int? ExpiresIn { get; set; }
}

internal sealed class CreateLinkDto
{
    public required string ResourceType { get; set; }
    public required string ResourceId { get; set; }
    public required string ShareId { get; set; }
    public required string LinkType { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Password { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? ExpiresAt { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxDownloads { get; set; }
}

internal sealed class LinkDto
{
    public string? Id { get; set; }
    public string? Token { get; set; }
    public string? Url { get; set; }
    public string? LinkType { get; set; }
    public string? Status { get; set; }
    public bool? PasswordRequired { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>Bodies of small JSON requests (create folder, rename, move, copy, restore).</summary>
internal sealed class MutationDto
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ShareId { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ParentId { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TargetFolderId { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TargetShareId { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? IsDeleted { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    PropertyNameCaseInsensitive = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(ErrorBodyDto))]
[JsonSerializable(typeof(UserDto))]
[JsonSerializable(typeof(ShareDto))]
[JsonSerializable(typeof(ShareListDto))]
[JsonSerializable(typeof(QuotaDto))]
[JsonSerializable(typeof(ItemDto))]
[JsonSerializable(typeof(ChildrenDto))]
[JsonSerializable(typeof(VersionListDto))]
[JsonSerializable(typeof(VersionRestoreDto))]
[JsonSerializable(typeof(CreateUploadDto))]
[JsonSerializable(typeof(UploadSessionDto))]
[JsonSerializable(typeof(ChunkReceiptDto))]
[JsonSerializable(typeof(ChangesDto))]
[JsonSerializable(typeof(SyncStatusDto))]
[JsonSerializable(typeof(DeviceDto))]
[JsonSerializable(typeof(SocketFrameDto))]
[JsonSerializable(typeof(TokenResponseDto))]
[JsonSerializable(typeof(CreateLinkDto))]
[JsonSerializable(typeof(LinkDto))]
[JsonSerializable(typeof(MutationDto))]
internal sealed partial class WireJsonContext : JsonSerializerContext;
