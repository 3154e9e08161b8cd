using System.Text.Json;

namespace ScaiDrive.Client.Wire;

/// <summary>DTO → public model. A response without the fields a model cannot do without is a protocol error (<see cref="ScaiDriveErrorKind.Other"/>).</summary>
internal static class WireMapping
{
    public static UserProfile ToModel(this UserDto dto) =>
        new(Require(dto.Id, "user.id"), dto.Email, dto.Name, dto.TenantId);

    public static ShareInfo ToModel(this ShareDto dto) => new(
        new ShareId(Require(dto.Id, "share.id")),
        dto.Name ?? string.Empty,
        dto.Type ?? dto.ShareType,
        ParseRole(dto.Role),
        dto.OwnerId,
        dto.QuotaBytes,
        dto.UsedBytes ?? 0,
        dto.CreatedAt);

    public static ShareRole ParseRole(string? role) => role?.ToLowerInvariant() switch
    {
        "owner" => ShareRole.Owner,
        "admin" => ShareRole.Admin,
        "editor" => ShareRole.Editor,
        "contributor" => ShareRole.Contributor,
        // "viewer", "reader", and anything unknown: least privilege.
        _ => ShareRole.Viewer,
    };

    public static bool IsFolder(this ItemDto dto) =>
        string.Equals(dto.Type, "folder", StringComparison.OrdinalIgnoreCase)
        || (dto.Type is null && dto.Id is not null && dto.Id.StartsWith("fld_", StringComparison.Ordinal));

    public static FolderItem ToFolder(this ItemDto dto, ShareId? fallbackShare = null) => new(
        new FolderId(Require(dto.Id, "folder.id")),
        dto.ShareId is { } s ? new ShareId(s) : fallbackShare ?? throw Malformed("folder.share_id"),
        dto.ParentId is { } p ? new FolderId(p) : null,
        dto.Name ?? string.Empty,
        dto.Path,
        dto.CreatedAt ?? dto.ModifiedAt ?? DateTimeOffset.UnixEpoch,
        dto.ModifiedAt ?? dto.CreatedAt ?? DateTimeOffset.UnixEpoch,
        dto.IsDeleted ?? false);

    public static FileItem ToFile(this ItemDto dto, ShareId? fallbackShare = null) => new(
        new FileId(Require(dto.Id ?? dto.FileId, "file.id")),
        dto.ShareId is { } s ? new ShareId(s) : fallbackShare ?? throw Malformed("file.share_id"),
        dto.FolderId is { } f ? new FolderId(f) : null,
        dto.Name ?? string.Empty,
        dto.Path,
        dto.MimeType,
        dto.Size ?? 0,
        dto.ChecksumSha256,
        dto.Version ?? 0,
        dto.VersionId is { } v ? new VersionId(v) : null,
        dto.CreatedAt ?? dto.ModifiedAt ?? DateTimeOffset.UnixEpoch,
        dto.ModifiedAt ?? dto.CreatedAt ?? DateTimeOffset.UnixEpoch,
        dto.IsDeleted ?? false);

    public static FileVersionInfo ToModel(this VersionDto dto) => new(
        new VersionId(Require(dto.Id, "version.id")),
        dto.VersionNumber ?? 0,
        dto.Size ?? 0,
        dto.ChecksumSha256,
        dto.CreatedBy,
        dto.CreatedAt ?? DateTimeOffset.UnixEpoch);

    public static UploadSession ToModel(this UploadSessionDto dto)
    {
        var id = Require(dto.SessionId ?? dto.Id, "upload.session_id");
        long size = dto.FileSize ?? 0;
        int chunkSize = dto.ChunkSize ?? 4 * 1024 * 1024;
        int total = dto.TotalChunks ?? (int)((size + chunkSize - 1) / chunkSize);
        IReadOnlyList<int> received = dto.ReceivedChunks ?? [];
        IReadOnlyList<int> missing = dto.MissingChunks is { } m ? m : ComputeMissing(total, received);
        return new UploadSession(
            new UploadSessionId(id),
            new ShareId(dto.ShareId ?? string.Empty),
            dto.FolderId is { } f ? new FolderId(f) : null,
            dto.FileName ?? string.Empty,
            size,
            chunkSize,
            total,
            dto.ExpiresAt ?? DateTimeOffset.MaxValue,
            dto.Status ?? "active",
            received,
            missing,
            dto.ExistingChunks ?? [],
            dto.BytesReceived ?? 0,
            dto.ReplaceFileId is { } r ? new FileId(r) : null);
    }

    private static int[] ComputeMissing(int total, IReadOnlyList<int> received)
    {
        var have = new HashSet<int>(received);
        return Enumerable.Range(0, total).Where(i => !have.Contains(i)).ToArray();
    }

    public static ChangeEntry ToModel(this ChangeDto dto, ShareId? fallbackShare = null) => new(
        dto.Id ?? string.Empty,
        dto.ShareId is { } s ? new ShareId(s) : fallbackShare ?? new ShareId(string.Empty),
        dto.ResourceType?.ToLowerInvariant() switch
        {
            "file" => ResourceType.File,
            "folder" => ResourceType.Folder,
            "share" => ResourceType.Share,
            _ => ResourceType.Unknown,
        },
        dto.ResourceId ?? string.Empty,
        dto.ChangeType?.ToLowerInvariant() switch
        {
            "created" => ChangeType.Created,
            "updated" => ChangeType.Updated,
            "deleted" => ChangeType.Deleted,
            "moved" => ChangeType.Moved,
            "renamed" => ChangeType.Renamed,
            _ => ChangeType.Unknown,
        },
        dto.ChangedBy,
        dto.ChangedAt ?? DateTimeOffset.UnixEpoch,
        dto.OldPath,
        dto.NewPath,
        dto.VersionId,
        dto.Metadata is { } m ? new ChangeMetadata(m.Size, m.MimeType, m.ChecksumSha256, m.Version, m.FolderId, m.ParentId, m.Name) : null,
        dto.Position ?? 0);

    public static ExternalLink ToModel(this LinkDto dto) => new(
        new LinkId(Require(dto.Id, "link.id")),
        dto.Token ?? string.Empty,
        dto.Url,
        dto.LinkType ?? string.Empty,
        dto.Status ?? "active",
        dto.PasswordRequired ?? false,
        dto.ExpiresAt);

    /// <summary>The cursor's text whether the server sent a JSON number or a string; null when absent.</summary>
    public static string? CursorText(JsonElement? element) => element switch
    {
        { ValueKind: JsonValueKind.String } e => e.GetString(),
        { ValueKind: JsonValueKind.Number } e => e.GetRawText(),
        _ => null,
    };

    private static string Require(string? value, string field) => value ?? throw Malformed(field);

    private static ScaiDriveApiException Malformed(string field) =>
        new(ScaiDriveErrorKind.Other, $"Malformed server response: '{field}' is missing.");
}
