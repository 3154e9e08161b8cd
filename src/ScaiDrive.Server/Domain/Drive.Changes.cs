using System.Text.Json;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

// The change log (§11), devices and cursors. A position is the change's row number in one log for the tenant.
internal sealed partial class Drive
{
    private const string ChangeColumns = "position, id, share_id, resource_type, resource_id, change_type, changed_by, changed_at, old_path, new_path, version_id, metadata";

    private void AppendFileChange(Db db, List<ChangeDto> changes, string changeType, FileDto file, string? oldPath, Caller caller) =>
        AppendChange(db, changes, file.ShareId, "file", file.Id, changeType, oldPath, changeType == "deleted" ? null : file.Path, file.VersionId,
            new { size = file.Size, mime_type = file.MimeType, checksum_sha256 = file.ChecksumSha256, version = file.Version, folder_id = file.FolderId, name = file.Name },
            caller);

    private void AppendFolderChange(Db db, List<ChangeDto> changes, string changeType, FolderDto folder, string? oldPath, Caller caller) =>
        AppendChange(db, changes, folder.ShareId, "folder", folder.Id, changeType, oldPath, changeType == "deleted" ? null : folder.Path, null,
            new { parent_id = folder.ParentId, name = folder.Name },
            caller);

    private void AppendChange(Db db, List<ChangeDto> changes, string shareId, string resourceType, string resourceId, string changeType,
        string? oldPath, string? newPath, string? versionId, object metadata, Caller caller)
    {
        string id = NewId("chg");
        string now = Now();
        string json = JsonSerializer.Serialize(metadata);
        db.Exec(
            "INSERT INTO changes(id, share_id, resource_type, resource_id, change_type, changed_by, changed_at, old_path, new_path, version_id, metadata) VALUES ($id, $s, $rt, $r, $ct, $u, $now, $op, $np, $v, $m)",
            ("$id", id), ("$s", shareId), ("$rt", resourceType), ("$r", resourceId), ("$ct", changeType), ("$u", caller.UserId),
            ("$now", now), ("$op", oldPath), ("$np", newPath), ("$v", versionId), ("$m", json));
        long position = db.Scalar<long>("SELECT last_insert_rowid()");
        changes.Add(new ChangeDto(id, TenantId, shareId, resourceType, resourceId, changeType, caller.UserId, now, oldPath, newPath, versionId,
            JsonDocument.Parse(json).RootElement.Clone(), position));
    }

    private ChangeDto ReadChange(Microsoft.Data.Sqlite.SqliteDataReader r)
    {
        using JsonDocument metadata = JsonDocument.Parse(r.GetString(11));
        return new ChangeDto(r.GetString(1), TenantId, r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7),
            r.NullableString(8), r.NullableString(9), r.NullableString(10), metadata.RootElement.Clone(), r.GetInt64(0));
    }

    private static long Head(Db db) => db.Scalar<long?>("SELECT MAX(position) FROM changes") ?? LowWater(db);

    /// <summary>Every position at or below this was compacted away; older cursors are expired.</summary>
    private static long LowWater(Db db) => long.Parse(db.Scalar<string>("SELECT value FROM meta WHERE key='low_water'") ?? "0", System.Globalization.CultureInfo.InvariantCulture);

    public sealed record ChangesPage(List<ChangeDto> Changes, long Cursor, bool HasMore, string? ShareId);

    /// <summary>
    /// Changes after <paramref name="cursor"/> (null: start at the head). The returned cursor is the last included
    /// position, or the input when nothing is new. A cursor below the compaction low-water mark or beyond the
    /// head is 410 CURSOR_EXPIRED.
    /// </summary>
    public ChangesPage GetChanges(Caller caller, string? shareId, string? cursor, int limit) => _db.Read(db =>
    {
        List<string> shares;
        if (shareId is not null)
        {
            RequireShare(db, caller, shareId, Perm.Read);
            shares = [shareId];
        }
        else
        {
            shares = db.Query("SELECT share_id FROM members WHERE user_id=$u", r => r.GetString(0), ("$u", caller.UserId));
        }

        long head = Head(db);
        if (cursor is null)
        {
            return new ChangesPage([], head, false, shareId);
        }

        if (!long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long from) ||
            from < LowWater(db) || from > head)
        {
            throw new ApiException(410, "CURSOR_EXPIRED", "The cursor is unknown or too old; do a full listing and restart from sync/status");
        }

        if (shares.Count == 0)
        {
            return new ChangesPage([], from, false, shareId);
        }

        var args = new List<(string, object?)> { ("$from", from), ("$limit", limit + 1) };
        var names = new List<string>();
        for (int i = 0; i < shares.Count; i++)
        {
            names.Add("$s" + i);
            args.Add(("$s" + i, shares[i]));
        }

        List<ChangeDto> changes = db.Query(
            $"SELECT {ChangeColumns} FROM changes WHERE position > $from AND share_id IN ({string.Join(',', names)}) ORDER BY position LIMIT $limit",
            ReadChange, [.. args]);
        bool hasMore = changes.Count > limit;
        if (hasMore)
        {
            changes.RemoveAt(changes.Count - 1);
        }

        return new ChangesPage(changes, changes.Count > 0 ? changes[^1].Position : from, hasMore, shareId);
    });

    /// <summary>Drops changes at or below <paramref name="position"/> (test hook for CURSOR_EXPIRED).</summary>
    public void CompactChanges(long? position) => _db.Write(db =>
    {
        long upTo = position ?? Head(db);
        db.Exec("DELETE FROM changes WHERE position <= $p", ("$p", upTo));
        db.Exec("INSERT INTO meta(key, value) VALUES ('low_water', $v) ON CONFLICT(key) DO UPDATE SET value=$v", ("$v", upTo.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    });

    public sealed record DeviceDto(string DeviceId, string? DeviceName, string? Platform, string? ClientVersion, string LastSeenAt, string CreatedAt);

    public DeviceDto RegisterDevice(Caller caller, string deviceId, string? name, string? platform, string? clientVersion) => _db.Write(db =>
    {
        string now = Now();
        db.Exec(
            """
            INSERT INTO devices(user_id, device_id, device_name, platform, client_version, last_seen_at, created_at) VALUES ($u, $d, $n, $p, $c, $now, $now)
            ON CONFLICT(user_id, device_id) DO UPDATE SET device_name=$n, platform=$p, client_version=$c, last_seen_at=$now
            """,
            ("$u", caller.UserId), ("$d", deviceId), ("$n", name), ("$p", platform), ("$c", clientVersion), ("$now", now));
        return db.QuerySingle(
            "SELECT device_id, device_name, platform, client_version, last_seen_at, created_at FROM devices WHERE user_id=$u AND device_id=$d",
            ReadDevice, ("$u", caller.UserId), ("$d", deviceId))!;
    });

    public List<DeviceDto> ListDevices(Caller caller) => _db.Read(db => db.Query(
        "SELECT device_id, device_name, platform, client_version, last_seen_at, created_at FROM devices WHERE user_id=$u ORDER BY created_at",
        ReadDevice, ("$u", caller.UserId)));

    private static DeviceDto ReadDevice(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetString(0), r.NullableString(1), r.NullableString(2), r.NullableString(3), r.GetString(4), r.GetString(5));

    public sealed record SyncStatusDto(long CursorPosition, string? LastSyncAt, long PendingChanges, bool HasConflicts);

    /// <summary>The device's cursor on a share, created at the head on first sight (§11.4).</summary>
    public SyncStatusDto GetSyncStatus(Caller caller, string shareId, string deviceId) => _db.Write(db =>
    {
        RequireShare(db, caller, shareId, Perm.Read);
        TouchDevice(db, caller, deviceId);
        long head = Head(db);
        db.Exec(
            "INSERT OR IGNORE INTO cursors(user_id, device_id, share_id, position) VALUES ($u, $d, $s, $p)",
            ("$u", caller.UserId), ("$d", deviceId), ("$s", shareId), ("$p", head));
        (long position, string? lastSync) = db.Query(
            "SELECT position, last_sync_at FROM cursors WHERE user_id=$u AND device_id=$d AND share_id=$s",
            r => (r.GetInt64(0), r.NullableString(1)),
            ("$u", caller.UserId), ("$d", deviceId), ("$s", shareId))[0];
        long pending = db.Scalar<long>("SELECT COUNT(*) FROM changes WHERE share_id=$s AND position > $p", ("$s", shareId), ("$p", position));
        return new SyncStatusDto(position, lastSync, pending, false);
    });

    public sealed record CursorDto(long CursorPosition, string LastSyncAt);

    public CursorDto SetCursor(Caller caller, string shareId, string deviceId, long position) => _db.Write(db =>
    {
        RequireShare(db, caller, shareId, Perm.Read);
        if (position < 0 || position > Head(db))
        {
            throw ApiException.Validation("position", "position is beyond the head of the change log");
        }

        TouchDevice(db, caller, deviceId);
        string now = Now();
        db.Exec(
            """
            INSERT INTO cursors(user_id, device_id, share_id, position, last_sync_at) VALUES ($u, $d, $s, $p, $now)
            ON CONFLICT(user_id, device_id, share_id) DO UPDATE SET position=$p, last_sync_at=$now
            """,
            ("$u", caller.UserId), ("$d", deviceId), ("$s", shareId), ("$p", position), ("$now", now));
        return new CursorDto(position, now);
    });

    private void TouchDevice(Db db, Caller caller, string deviceId)
    {
        string now = Now();
        db.Exec(
            """
            INSERT INTO devices(user_id, device_id, last_seen_at, created_at) VALUES ($u, $d, $now, $now)
            ON CONFLICT(user_id, device_id) DO UPDATE SET last_seen_at=$now
            """,
            ("$u", caller.UserId), ("$d", deviceId), ("$now", now));
    }
}
