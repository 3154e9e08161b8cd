using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

internal sealed partial class Drive
{
    public UserRow? FindUser(string userId) =>
        _db.Read(db => db.QuerySingle($"SELECT {UserRow.Columns} FROM users WHERE id=$id", UserRow.Read, ("$id", userId)));

    /// <summary>Creates a user with a personal share "My Files" that it owns.</summary>
    public UserRow CreateUser(string name, string? email) =>
        _db.Write(db => CreateUserUnsynchronized(db, name, email ?? $"{name.ToLowerInvariant().Replace(' ', '.')}@localhost"));

    private UserRow CreateUserUnsynchronized(Db db, string name, string email)
    {
        string userId = NewId("usr");
        string now = Now();
        db.Exec(
            "INSERT INTO users(id, tenant_id, email, name, created_at) VALUES ($id, $t, $e, $n, $now)",
            ("$id", userId), ("$t", TenantId), ("$e", email), ("$n", name), ("$now", now));
        string shareId = CreateShareUnsynchronized(db, "My Files", userId, "personal", null, null);
        db.Exec("UPDATE users SET personal_share_id=$s WHERE id=$id", ("$s", shareId), ("$id", userId));
        return new UserRow(userId, TenantId, email, name, shareId);
    }

    public ShareRow CreateShare(string name, string ownerId, string shareType, long? quotaBytes, string? description) =>
        _db.Write(db =>
        {
            if (db.Scalar<long>("SELECT COUNT(*) FROM users WHERE id=$id", ("$id", ownerId)) == 0)
            {
                throw ApiException.Validation("owner_id", "Unknown owner");
            }

            string id = CreateShareUnsynchronized(db, name, ownerId, shareType, quotaBytes, description);
            return GetShareRow(db, id)!;
        });

    private string CreateShareUnsynchronized(Db db, string name, string ownerId, string shareType, long? quotaBytes, string? description)
    {
        string shareId = NewId("shr");
        string now = Now();
        db.Exec(
            "INSERT INTO shares(id, tenant_id, name, description, share_type, owner_id, quota_bytes, created_at, modified_at) VALUES ($id, $t, $n, $d, $st, $o, $q, $now, $now)",
            ("$id", shareId), ("$t", TenantId), ("$n", name), ("$d", description), ("$st", shareType), ("$o", ownerId), ("$q", quotaBytes), ("$now", now));
        db.Exec(
            "INSERT INTO members(share_id, user_id, role, created_at) VALUES ($s, $u, 'owner', $now)",
            ("$s", shareId), ("$u", ownerId), ("$now", now));
        return shareId;
    }

    private static ShareRow? GetShareRow(Db db, string shareId) =>
        db.QuerySingle($"SELECT {ShareRow.Columns} FROM shares WHERE id=$id", ShareRow.Read, ("$id", shareId));

    private static string? RoleOf(Db db, string userId, string shareId) =>
        db.Scalar<string>("SELECT role FROM members WHERE share_id=$s AND user_id=$u", ("$s", shareId), ("$u", userId));

    /// <summary>The share if the caller can reach it with <paramref name="needed"/>; 404 when invisible, 403 when lacking.</summary>
    private static (ShareRow Share, string Role) RequireShare(Db db, Caller caller, string shareId, Perm needed)
    {
        ShareRow? share = GetShareRow(db, shareId);
        string? role = share is null ? null : RoleOf(db, caller.UserId, shareId);
        if (share is null || role is null || share.IsDeleted)
        {
            throw ApiException.NotFound($"Share {shareId}");
        }

        if ((Roles.PermissionsOf(role) & needed) != needed)
        {
            throw ApiException.Forbidden(needed.ToString().ToUpperInvariant(), $"share/{shareId}");
        }

        return (share, role);
    }

    private static void RequirePermission(Db db, Caller caller, string shareId, Perm needed, string resource)
    {
        string? role = RoleOf(db, caller.UserId, shareId);
        if (role is null)
        {
            throw ApiException.NotFound(resource);
        }

        if ((Roles.PermissionsOf(role) & needed) != needed)
        {
            throw ApiException.Forbidden(needed.ToString().ToUpperInvariant(), resource);
        }
    }

    public bool CanRead(string userId, string shareId) =>
        _db.Read(db => RoleOf(db, userId, shareId) is string role && (Roles.PermissionsOf(role) & Perm.Read) != 0);

    /// <summary>Bytes a share uses: the current size of every file not permanently deleted (trash counts, old versions do not).</summary>
    private static long UsedBytes(Db db, string shareId) =>
        db.Scalar<long?>("SELECT SUM(size) FROM files WHERE share_id=$s", ("$s", shareId)) ?? 0;

    private static void CheckQuota(Db db, string shareId, long addedBytes)
    {
        long? quota = db.Scalar<long?>("SELECT quota_bytes FROM shares WHERE id=$s", ("$s", shareId));
        if (quota is long limit && addedBytes > 0 && UsedBytes(db, shareId) + addedBytes > limit)
        {
            throw new ApiException(507, "QUOTA_EXCEEDED", $"Share quota exceeded (share {shareId}: limit {limit} bytes)", new Dictionary<string, object> { ["level"] = "share", ["limit_bytes"] = limit });
        }
    }

    private ShareDto ToDto(Db db, ShareRow share, string role) => new(
        share.Id, share.TenantId, share.Name, share.Description, share.ShareType, share.ShareType, share.OwnerId,
        false, share.IsDeleted, share.QuotaBytes, UsedBytes(db, share.Id), role, [], share.CreatedAt, share.ModifiedAt);

    public (List<ShareDto> Shares, int Total) ListShares(Caller caller, int limit, int offset) => _db.Read(db =>
    {
        List<(ShareRow Share, string Role)> all = db.Query(
            $"SELECT {string.Join(", ", ShareRow.Columns.Split(", ").Select(c => "s." + c))}, m.role FROM shares s JOIN members m ON m.share_id = s.id WHERE m.user_id=$u AND s.is_deleted=0 ORDER BY s.created_at, s.id",
            r => (ShareRow.Read(r), r.GetString(10)),
            ("$u", caller.UserId));
        return (all.Skip(offset).Take(limit).Select(x => ToDto(db, x.Share, x.Role)).ToList(), all.Count);
    });

    public ShareDto GetShare(Caller caller, string shareId) => _db.Read(db =>
    {
        (ShareRow share, string role) = RequireShare(db, caller, shareId, Perm.Read);
        return ToDto(db, share, role);
    });

    /// <summary>POST /shares: the creator becomes an admin member when the share is owned by someone else, so it can see it.</summary>
    public ShareDto CreateShareFor(Caller caller, string name, string shareType, string? ownerId, long? quota, string? description)
    {
        ShareRow share = CreateShare(name, ownerId ?? caller.UserId, shareType, quota, description);
        if (share.OwnerId != caller.UserId)
        {
            SetMember(null, share.Id, caller.UserId, "admin", mustBeNew: false);
        }

        return GetShare(caller, share.Id);
    }

    public ShareDto UpdateShare(Caller caller, string shareId, string? name, string? description) => _db.Write(db =>
    {
        RequireShare(db, caller, shareId, Perm.ManagePermissions);
        db.Exec(
            "UPDATE shares SET name=COALESCE($n, name), description=COALESCE($d, description), modified_at=$now WHERE id=$id",
            ("$n", name), ("$d", description), ("$now", Now()), ("$id", shareId));
        (ShareRow share, string role) = RequireShare(db, caller, shareId, Perm.Read);
        return ToDto(db, share, role);
    });

    public void DeleteShare(Caller caller, string shareId) => _db.Write(db =>
    {
        (ShareRow share, string role) = RequireShare(db, caller, shareId, Perm.Read);
        if (role != "owner")
        {
            throw new ApiException(403, "AUTHZ_PERMISSION_DENIED", "Only the owner can delete a share");
        }

        db.Exec("UPDATE shares SET is_deleted=1, modified_at=$now WHERE id=$id", ("$now", Now()), ("$id", share.Id));
    });

    public void SetQuota(string shareId, long? quotaBytes) => _db.Write(db =>
    {
        if (db.Exec("UPDATE shares SET quota_bytes=$q WHERE id=$id", ("$q", quotaBytes), ("$id", shareId)) == 0)
        {
            throw ApiException.NotFound($"Share {shareId}");
        }
    });

    public sealed record MemberDto(string Id, string ShareId, string PrincipalType, string PrincipalId, string UserId, string Email, string Name, string Role, string CreatedAt);

    public List<MemberDto> ListMembers(Caller caller, string shareId) => _db.Read(db =>
    {
        RequireShare(db, caller, shareId, Perm.Read);
        return db.Query(
            "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM members m JOIN users u ON u.id = m.user_id WHERE m.share_id=$s ORDER BY m.created_at",
            r => new MemberDto(r.GetString(0), shareId, "user", r.GetString(0), r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4)),
            ("$s", shareId));
    });

    /// <summary>Adds or changes a membership. <paramref name="caller"/> null means the admin endpoint (no checks).</summary>
    public MemberDto SetMember(Caller? caller, string shareId, string userId, string role, bool mustBeNew) => _db.Write(db =>
    {
        string normalized = Roles.Normalize(role) ?? throw ApiException.Validation("role", "role must be viewer, contributor, editor, admin or owner");
        if (caller is not null)
        {
            RequireShare(db, caller, shareId, Perm.ManagePermissions);
        }
        else if (GetShareRow(db, shareId) is null)
        {
            throw ApiException.NotFound($"Share {shareId}");
        }

        UserRow user = db.QuerySingle($"SELECT {UserRow.Columns} FROM users WHERE id=$id", UserRow.Read, ("$id", userId))
            ?? throw ApiException.NotFound($"User {userId}");
        string? existing = RoleOf(db, userId, shareId);
        if (existing is not null && mustBeNew)
        {
            throw new ApiException(409, "ALREADY_EXISTS", $"{userId} is already a member of {shareId}");
        }

        string now = Now();
        db.Exec(
            "INSERT INTO members(share_id, user_id, role, created_at) VALUES ($s, $u, $r, $now) ON CONFLICT(share_id, user_id) DO UPDATE SET role=$r",
            ("$s", shareId), ("$u", userId), ("$r", normalized), ("$now", now));
        return new MemberDto(userId, shareId, "user", userId, userId, user.Email, user.Name, normalized, now);
    });

    public void RemoveMember(Caller caller, string shareId, string userId) => _db.Write(db =>
    {
        RequireShare(db, caller, shareId, Perm.ManagePermissions);
        if (db.Exec("DELETE FROM members WHERE share_id=$s AND user_id=$u AND role <> 'owner'", ("$s", shareId), ("$u", userId)) == 0)
        {
            throw ApiException.NotFound($"Member {userId}");
        }
    });

    public (long Used, long? Quota) UserQuota(Caller caller) => _db.Read(db =>
    {
        long used = db.Scalar<long?>(
            "SELECT SUM(f.size) FROM files f JOIN shares s ON s.id = f.share_id WHERE s.owner_id=$u", ("$u", caller.UserId)) ?? 0;
        string? personal = db.Scalar<string>("SELECT personal_share_id FROM users WHERE id=$u", ("$u", caller.UserId));
        long? quota = personal is null ? null : db.Scalar<long?>("SELECT quota_bytes FROM shares WHERE id=$s", ("$s", personal));
        return (used, quota);
    });
}
