using Microsoft.Data.Sqlite;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

/// <summary>Resource permission bits of §3.2.</summary>
[Flags]
internal enum Perm
{
    None = 0,
    Read = 1,
    Write = 2,
    Delete = 4,
    Create = 8,
    Share = 16,
    ManagePermissions = 32,
}

/// <summary>
/// Share roles, ordered by power. §3.3 gives contributors READ|WRITE|DELETE|CREATE and owners/admins everything;
/// editors sit between them and may also create external links (SHARE). "reader" is accepted for viewer.
/// </summary>
internal static class Roles
{
    public static readonly string[] Ordered = ["viewer", "contributor", "editor", "admin", "owner"];

    public static string? Normalize(string? role) => role?.ToLowerInvariant() switch
    {
        "viewer" or "reader" => "viewer",
        "contributor" => "contributor",
        "editor" => "editor",
        "admin" => "admin",
        "owner" => "owner",
        _ => null,
    };

    public static Perm PermissionsOf(string role) => role switch
    {
        "viewer" => Perm.Read,
        "contributor" => Perm.Read | Perm.Write | Perm.Delete | Perm.Create,
        "editor" => Perm.Read | Perm.Write | Perm.Delete | Perm.Create | Perm.Share,
        "admin" or "owner" => Perm.Read | Perm.Write | Perm.Delete | Perm.Create | Perm.Share | Perm.ManagePermissions,
        _ => Perm.None,
    };

    public static int Rank(string role) => Array.IndexOf(Ordered, role);
}

/// <summary>The authenticated user of a request.</summary>
internal sealed record Caller(string UserId, string TenantId, string Email, string Name);

internal sealed record UserRow(string Id, string TenantId, string Email, string Name, string? PersonalShareId)
{
    public const string Columns = "id, tenant_id, email, name, personal_share_id";

    public static UserRow Read(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.NullableString(4));
}

internal sealed record ShareRow(
    string Id, string TenantId, string Name, string? Description, string ShareType, string OwnerId,
    long? QuotaBytes, bool IsDeleted, string CreatedAt, string ModifiedAt)
{
    public const string Columns = "id, tenant_id, name, description, share_type, owner_id, quota_bytes, is_deleted, created_at, modified_at";

    public static ShareRow Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.GetString(4), r.GetString(5),
        r.NullableLong(6), r.GetInt64(7) != 0, r.GetString(8), r.GetString(9));
}

internal sealed record FolderRow(
    string Id, string ShareId, string? ParentId, string Name, string OwnerId, string CreatedBy,
    string CreatedAt, string ModifiedAt, bool IsDeleted, string? DeletedWith)
{
    public const string Columns = "id, share_id, parent_id, name, owner_id, created_by, created_at, modified_at, is_deleted, deleted_with";

    public static FolderRow Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.NullableString(2), r.GetString(3), r.GetString(4), r.GetString(5),
        r.GetString(6), r.GetString(7), r.GetInt64(8) != 0, r.NullableString(9));
}

internal sealed record FileRow(
    string Id, string ShareId, string? FolderId, string Name, string MimeType, long Version, string VersionId,
    long Size, string Checksum, string OwnerId, string CreatedBy, string CreatedAt, string ModifiedBy,
    string ModifiedAt, bool IsDeleted, string? DeletedWith)
{
    public const string Columns = "id, share_id, folder_id, name, mime_type, version, version_id, size, checksum, owner_id, created_by, created_at, modified_by, modified_at, is_deleted, deleted_with";

    public static FileRow Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.NullableString(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetString(6),
        r.GetInt64(7), r.GetString(8), r.GetString(9), r.GetString(10), r.GetString(11), r.GetString(12),
        r.GetString(13), r.GetInt64(14) != 0, r.NullableString(15));
}

internal sealed record VersionRow(string Id, string FileId, long VersionNumber, long Size, string Checksum, string CreatedBy, string CreatedAt)
{
    public const string Columns = "id, file_id, version_number, size, checksum, created_by, created_at";

    public static VersionRow Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetString(4), r.GetString(5), r.GetString(6));
}

// Wire objects (snake_case through Json.Options).

internal sealed record FolderDto(
    string Id, string TenantId, string ShareId, string? ParentId, string Name, string Path, string OwnerId,
    string CreatedBy, string CreatedAt, string ModifiedAt, bool IsDeleted)
{
    public string Type => "folder";
}

internal sealed record FileDto(
    string Id, string TenantId, string ShareId, string? FolderId, string Name, string Path, string MimeType,
    long Size, string ChecksumSha256, long Version, string VersionId, string OwnerId, string CreatedBy,
    string CreatedAt, string ModifiedBy, string ModifiedAt, bool IsDeleted)
{
    public string Type => "file";

    public string? VectorizedAt => null;
}

/// <summary>Upload-complete answer: the File object plus <c>file_id</c> (§21.3).</summary>
internal sealed record CompletedFileDto(
    string Id, string FileId, string TenantId, string ShareId, string? FolderId, string Name, string Path, string MimeType,
    long Size, string ChecksumSha256, long Version, string VersionId, string OwnerId, string CreatedBy,
    string CreatedAt, string ModifiedBy, string ModifiedAt, bool IsDeleted)
{
    public string Type => "file";

    public static CompletedFileDto From(FileDto f) => new(
        f.Id, f.Id, f.TenantId, f.ShareId, f.FolderId, f.Name, f.Path, f.MimeType, f.Size, f.ChecksumSha256, f.Version,
        f.VersionId, f.OwnerId, f.CreatedBy, f.CreatedAt, f.ModifiedBy, f.ModifiedAt, f.IsDeleted);
}

internal sealed record ShareDto(
    string Id, string TenantId, string Name, string? Description, string ShareType, string Type, string OwnerId,
    bool IsPublic, bool IsDeleted, long? QuotaBytes, long UsedBytes, string Role, Dictionary<string, object> Settings,
    string CreatedAt, string ModifiedAt);

internal sealed record ChangeDto(
    string Id, string TenantId, string ShareId, string ResourceType, string ResourceId, string ChangeType,
    string ChangedBy, string ChangedAt, string? OldPath, string? NewPath, string? VersionId,
    System.Text.Json.JsonElement Metadata, long Position);
