using System.Security.Cryptography;
using System.Text;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

/// <summary>
/// External links (§15, §21.15). A link names a file, folder or share; recipients use its random token on the
/// public endpoints. Passwords are stored as PBKDF2-SHA256 hashes (the real service uses bcrypt). A link is
/// unusable once revoked, past <c>expires_at</c>, or out of downloads/views (410).
/// </summary>
internal sealed partial class Drive
{
    private const string LinkColumns = "id, share_id, resource_type, resource_id, link_type, token, short_code, status, password_hash, max_downloads, download_count, max_views, view_count, custom_name, custom_message, created_by, created_at, expires_at";

    private sealed record LinkRow(
        string Id, string ShareId, string ResourceType, string ResourceId, string LinkType, string Token, string ShortCode, string Status,
        string? PasswordHash, long? MaxDownloads, long DownloadCount, long? MaxViews, long ViewCount, string? CustomName, string? CustomMessage,
        string CreatedBy, string CreatedAt, string? ExpiresAt)
    {
        public static LinkRow Read(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
            r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7),
            r.NullableString(8), r.NullableLong(9), r.GetInt64(10), r.NullableLong(11), r.GetInt64(12), r.NullableString(13), r.NullableString(14),
            r.GetString(15), r.GetString(16), r.NullableString(17));
    }

    public sealed record LinkDto(
        string Id, string TenantId, string ShareId, string ResourceType, string ResourceId, string LinkType, string Token, string ShortCode,
        string Url, string ShortUrl, string Status, bool PasswordRequired, long? MaxDownloads, long DownloadCount, long? MaxViews, long ViewCount,
        string[]? AllowedIps, string[]? AllowedEmails, bool RequireEmail, string? CustomName, string? CustomMessage, string CreatedBy,
        string CreatedAt, string? ExpiresAt);

    public sealed record CreateLink(
        string ResourceType, string ResourceId, string ShareId, string LinkType, string? Password, DateTimeOffset? ExpiresAt,
        long? MaxDownloads, long? MaxViews, string? CustomName, string? CustomMessage);

    public sealed record LinkChanges(string? Password, bool ClearPassword, DateTimeOffset? ExpiresAt, long? MaxDownloads, long? MaxViews, string? CustomName, string? CustomMessage, string? Status);

    private LinkDto ToDto(LinkRow link, string publicRoot) => new(
        link.Id, TenantId, link.ShareId, link.ResourceType, link.ResourceId, link.LinkType, link.Token, link.ShortCode,
        publicRoot + link.Token, publicRoot + link.ShortCode, EffectiveStatus(link), link.PasswordHash is not null, link.MaxDownloads,
        link.DownloadCount, link.MaxViews, link.ViewCount, null, null, false, link.CustomName, link.CustomMessage, link.CreatedBy,
        link.CreatedAt, link.ExpiresAt);

    private string EffectiveStatus(LinkRow link) =>
        link.Status == "active" && link.ExpiresAt is not null && Time.Parse(link.ExpiresAt) <= _time.GetUtcNow() ? "expired" : link.Status;

    public LinkDto CreateLinkFor(Caller caller, CreateLink request, string publicRoot) => _db.Write(db =>
    {
        string type = request.ResourceType.ToLowerInvariant();
        string linkType = request.LinkType.ToUpperInvariant();
        if (linkType is not ("VIEW" or "DOWNLOAD"))
        {
            throw ApiException.Validation("link_type", "link_type must be VIEW or DOWNLOAD (UPLOAD links are not supported by the local server)");
        }

        RequireShare(db, caller, request.ShareId, Perm.Share);
        string shareOfResource = type switch
        {
            "file" => RequireFile(db, caller, request.ResourceId, Perm.Read).ShareId,
            "folder" => RequireFolder(db, caller, request.ResourceId, Perm.Read).ShareId,
            "share" => request.ResourceId,
            _ => throw ApiException.Validation("resource_type", "resource_type must be file, folder or share"),
        };
        if (shareOfResource != request.ShareId)
        {
            throw ApiException.NotFound($"{type} {request.ResourceId} in share {request.ShareId}");
        }

        string id = NewId("lnk");
        string token = Ids.Secret(24);
        string shortCode = Ids.Secret(6)[..8];
        db.Exec(
            $"""
            INSERT INTO links({LinkColumns}) VALUES ($id, $s, $rt, $r, $lt, $t, $sc, 'active', $pw, $md, 0, $mv, 0, $cn, $cm, $u, $now, $exp)
            """,
            ("$id", id), ("$s", request.ShareId), ("$rt", type), ("$r", request.ResourceId), ("$lt", linkType), ("$t", token), ("$sc", shortCode),
            ("$pw", request.Password is null ? null : HashPassword(request.Password)), ("$md", request.MaxDownloads), ("$mv", request.MaxViews),
            ("$cn", request.CustomName), ("$cm", request.CustomMessage), ("$u", caller.UserId), ("$now", Now()),
            ("$exp", request.ExpiresAt is { } at ? Time.Format(at) : null));
        return ToDto(GetLinkRow(db, id)!, publicRoot);
    });

    private static LinkRow? GetLinkRow(Db db, string id) =>
        db.QuerySingle($"SELECT {LinkColumns} FROM links WHERE id=$id", LinkRow.Read, ("$id", id));

    /// <summary>A link its creator, or an admin/owner of its share, may manage.</summary>
    private static LinkRow RequireManagedLink(Db db, Caller caller, string linkId)
    {
        LinkRow link = GetLinkRow(db, linkId) ?? throw ApiException.NotFound($"Link {linkId}");
        string? role = RoleOf(db, caller.UserId, link.ShareId);
        if (role is null || (link.CreatedBy != caller.UserId && (Roles.PermissionsOf(role) & Perm.ManagePermissions) == 0))
        {
            throw ApiException.NotFound($"Link {linkId}");
        }

        return link;
    }

    public LinkDto GetLink(Caller caller, string linkId, string publicRoot) => _db.Read(db => ToDto(RequireManagedLink(db, caller, linkId), publicRoot));

    public List<LinkDto> ListLinks(Caller caller, string? shareId, string? resourceId, string? status, string publicRoot) => _db.Read(db =>
        db.Query($"SELECT {LinkColumns} FROM links ORDER BY created_at", LinkRow.Read)
            .Where(l => (shareId is null || l.ShareId == shareId) && (resourceId is null || l.ResourceId == resourceId))
            .Where(l => RoleOf(db, caller.UserId, l.ShareId) is string role && (l.CreatedBy == caller.UserId || (Roles.PermissionsOf(role) & Perm.ManagePermissions) != 0))
            .Select(l => ToDto(l, publicRoot))
            .Where(l => status is null || l.Status == status)
            .ToList());

    public LinkDto UpdateLink(Caller caller, string linkId, LinkChanges changes, string publicRoot) => _db.Write(db =>
    {
        LinkRow link = RequireManagedLink(db, caller, linkId);
        if (changes.Status is not (null or "active" or "disabled"))
        {
            throw ApiException.Validation("status", "status can be set to active or disabled");
        }

        string? hash = changes.ClearPassword ? null : changes.Password is null ? link.PasswordHash : HashPassword(changes.Password);
        db.Exec(
            """
            UPDATE links SET password_hash=$pw, expires_at=COALESCE($exp, expires_at), max_downloads=COALESCE($md, max_downloads),
                max_views=COALESCE($mv, max_views), custom_name=COALESCE($cn, custom_name), custom_message=COALESCE($cm, custom_message),
                status=CASE WHEN status='revoked' THEN status ELSE COALESCE($st, status) END
            WHERE id=$id
            """,
            ("$pw", hash), ("$exp", changes.ExpiresAt is { } at ? Time.Format(at) : null), ("$md", changes.MaxDownloads), ("$mv", changes.MaxViews),
            ("$cn", changes.CustomName), ("$cm", changes.CustomMessage), ("$st", changes.Status), ("$id", link.Id));
        return ToDto(GetLinkRow(db, link.Id)!, publicRoot);
    });

    public void RevokeLink(Caller caller, string linkId) => _db.Write(db =>
    {
        LinkRow link = RequireManagedLink(db, caller, linkId);
        db.Exec("UPDATE links SET status='revoked' WHERE id=$id", ("$id", link.Id));
    });

    public sealed record PublicLinkDto(string LinkType, string ResourceType, string? CustomName, string? CustomMessage, string? ExpiresAt, object Resource);

    /// <summary>The public view of a link (counts a view). 401 when the password is missing or wrong, 410 when unusable.</summary>
    public PublicLinkDto OpenPublicLink(string token, string? password) => _db.Write(db =>
    {
        LinkRow link = RequireUsableLink(db, token, password);
        if (link.MaxViews is long maxViews && link.ViewCount >= maxViews)
        {
            throw new ApiException(410, "LINK_EXPIRED", "This link has reached its view limit");
        }

        db.Exec("UPDATE links SET view_count=view_count+1 WHERE id=$id", ("$id", link.Id));
        object resource = link.ResourceType switch
        {
            "file" => PublicFile(GetFileRow(db, link.ResourceId)!),
            "folder" => PublicListing(db, link.ShareId, link.ResourceId),
            _ => PublicListing(db, link.ShareId, null),
        };
        return new PublicLinkDto(link.LinkType, link.ResourceType, link.CustomName, link.CustomMessage, link.ExpiresAt, resource);
    });

    private static object PublicFile(FileRow file) => new { id = file.Id, type = "file", name = file.Name, size = file.Size, mime_type = file.MimeType, checksum_sha256 = file.Checksum, modified_at = file.ModifiedAt };

    private static object PublicListing(Db db, string shareId, string? folderId) => new
    {
        id = folderId ?? RootAlias,
        type = "folder",
        items = db.Query($"SELECT {FolderRow.Columns} FROM folders WHERE share_id=$s AND parent_id IS $p AND is_deleted=0 ORDER BY name_key", FolderRow.Read, ("$s", shareId), ("$p", folderId))
            .Select(f => (object)new { id = f.Id, type = "folder", name = f.Name })
            .Concat(db.Query($"SELECT {FileRow.Columns} FROM files WHERE share_id=$s AND folder_id IS $p AND is_deleted=0 ORDER BY name_key", FileRow.Read, ("$s", shareId), ("$p", folderId))
                .Select(PublicFile))
            .ToList(),
    };

    /// <summary>Content behind a DOWNLOAD link: the linked file, or <paramref name="fileId"/> inside the linked folder/share. Counts a download.</summary>
    public ContentInfo DownloadPublicLink(string token, string? password, string? fileId) => _db.Write(db =>
    {
        LinkRow link = RequireUsableLink(db, token, password);
        if (link.LinkType != "DOWNLOAD")
        {
            throw new ApiException(403, "AUTHZ_PERMISSION_DENIED", "This link allows viewing only");
        }

        if (link.MaxDownloads is long max && link.DownloadCount >= max)
        {
            throw new ApiException(410, "LINK_EXPIRED", "This link has reached its download limit");
        }

        string target = link.ResourceType == "file" ? link.ResourceId : fileId ?? throw ApiException.MissingField("file_id", "query");
        FileRow file = GetFileRow(db, target) ?? throw ApiException.NotFound($"File {target}");
        bool inside = link.ResourceType switch
        {
            "file" => true,
            "share" => file.ShareId == link.ShareId,
            _ => file.FolderId is not null && file.ShareId == link.ShareId && Subtree(db, link.ResourceId).Contains(file.FolderId),
        };
        if (!inside || file.IsDeleted)
        {
            throw ApiException.NotFound($"File {target}");
        }

        db.Exec("UPDATE links SET download_count=download_count+1 WHERE id=$id", ("$id", link.Id));
        return new ContentInfo(_blobs.PathOf(file.Checksum), file.Size, file.Checksum, file.MimeType, file.Name, file.Version);
    });

    public void VerifyLinkPassword(string token, string? password) => _db.Read(db => RequireUsableLink(db, token, password));

    private LinkRow RequireUsableLink(Db db, string token, string? password)
    {
        LinkRow link = db.QuerySingle($"SELECT {LinkColumns} FROM links WHERE token=$t OR short_code=$t", LinkRow.Read, ("$t", token))
            ?? throw ApiException.NotFound("Link");
        string status = EffectiveStatus(link);
        if (status != "active")
        {
            throw new ApiException(410, "LINK_EXPIRED", $"This link is {status}");
        }

        if (link.PasswordHash is not null && (password is null || !VerifyPassword(password, link.PasswordHash)))
        {
            throw ApiException.Unauthorized(password is null ? "LINK_PASSWORD_REQUIRED" : "LINK_PASSWORD_INVALID", "A valid link password is required");
        }

        return link;
    }

    private static string HashPassword(string password)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, 100_000, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2-sha256$100000${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    private static bool VerifyPassword(string password, string stored)
    {
        string[] parts = stored.Split('$');
        byte[] salt = Convert.FromBase64String(parts[2]);
        byte[] expected = Convert.FromBase64String(parts[3]);
        byte[] actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }
}
