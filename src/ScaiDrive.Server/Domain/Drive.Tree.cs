using System.Text;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

// Folders and the namespace rules shared by files and folders.
internal sealed partial class Drive
{
    public const string RootAlias = "root";

    /// <summary>§21.9 names: NFC, at most 255 UTF-8 bytes, no '/', '\', NUL, '.' or '..'. Violations are 400 INVALID_PATH.</summary>
    public static string CheckName(string? name, string field = "name")
    {
        if (name is null)
        {
            throw ApiException.MissingField(field);
        }

        string normalized = name.Normalize(NormalizationForm.FormC);
        if (normalized.Length == 0 || normalized is "." or ".." || normalized.AsSpan().IndexOfAny('/', '\\', '\0') >= 0 ||
            Encoding.UTF8.GetByteCount(normalized) > 255)
        {
            throw ApiException.BadRequest("INVALID_PATH", $"Invalid name '{name}': names are 1-255 bytes without '/', '\\', NUL, '.' or '..'");
        }

        return normalized;
    }

    private static string NameKey(string name) => name.ToLowerInvariant();

    private static void CheckNoSibling(Db db, string shareId, string? parentId, string name, string? exceptId)
    {
        long clash = db.Scalar<long>(
            """
            SELECT (SELECT COUNT(*) FROM folders WHERE share_id=$s AND parent_id IS $p AND name_key=$k AND is_deleted=0 AND id IS NOT $x)
                 + (SELECT COUNT(*) FROM files WHERE share_id=$s AND folder_id IS $p AND name_key=$k AND is_deleted=0 AND id IS NOT $x)
            """,
            ("$s", shareId), ("$p", parentId), ("$k", NameKey(name)), ("$x", exceptId));
        if (clash > 0)
        {
            throw ApiException.NameConflict(name);
        }
    }

    private static FolderRow? GetFolderRow(Db db, string folderId) =>
        db.QuerySingle($"SELECT {FolderRow.Columns} FROM folders WHERE id=$id", FolderRow.Read, ("$id", folderId));

    /// <summary>A folder the caller can see with <paramref name="needed"/>; 410 when it is in the trash and that is not allowed.</summary>
    private static FolderRow RequireFolder(Db db, Caller caller, string folderId, Perm needed, bool allowDeleted = false)
    {
        FolderRow folder = GetFolderRow(db, folderId) ?? throw ApiException.NotFound($"Folder {folderId}");
        RequirePermission(db, caller, folder.ShareId, needed, $"folder/{folderId}");
        if (folder.IsDeleted && !allowDeleted)
        {
            throw ApiException.Gone($"Folder {folderId}");
        }

        return folder;
    }

    /// <summary>Resolves a (share, folder-or-root) target where items are to be created; returns the parent folder ID (null = root).</summary>
    private static string? RequireContainer(Db db, Caller caller, string? shareId, string? folderId, Perm needed)
    {
        if (folderId is null or RootAlias)
        {
            if (shareId is null)
            {
                throw ApiException.MissingField("share_id");
            }

            RequireShare(db, caller, shareId, needed);
            return null;
        }

        FolderRow folder = RequireFolder(db, caller, folderId, needed);
        if (shareId is not null && shareId != folder.ShareId)
        {
            throw ApiException.NotFound($"Folder {folderId} in share {shareId}");
        }

        return folder.Id;
    }

    private static string FolderPath(Db db, string? folderId)
    {
        if (folderId is null)
        {
            return "/";
        }

        List<string> names = db.Query(
            """
            WITH RECURSIVE chain(id, parent_id, name, depth) AS (
                SELECT id, parent_id, name, 0 FROM folders WHERE id=$id
                UNION ALL SELECT f.id, f.parent_id, f.name, c.depth + 1 FROM folders f JOIN chain c ON f.id = c.parent_id)
            SELECT name FROM chain ORDER BY depth DESC
            """,
            r => r.GetString(0),
            ("$id", folderId));
        return "/" + string.Join('/', names);
    }

    private static string ChildPath(string parentPath, string name) => parentPath == "/" ? "/" + name : parentPath + "/" + name;

    private FolderDto ToDto(Db db, FolderRow folder, string? parentPath = null) => new(
        folder.Id, TenantId, folder.ShareId, folder.ParentId, folder.Name,
        ChildPath(parentPath ?? FolderPath(db, folder.ParentId), folder.Name),
        folder.OwnerId, folder.CreatedBy, folder.CreatedAt, folder.ModifiedAt, folder.IsDeleted);

    /// <summary>IDs of a folder and all its descendants (trashed ones included).</summary>
    private static List<string> Subtree(Db db, string folderId) => db.Query(
        """
        WITH RECURSIVE sub(id) AS (SELECT $id UNION ALL SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id)
        SELECT id FROM sub
        """,
        r => r.GetString(0),
        ("$id", folderId));

    public FolderDto GetFolder(Caller caller, string folderId, string? shareId) => _db.Read(db =>
    {
        if (folderId == RootAlias)
        {
            ShareRow share = RequireShare(db, caller, shareId ?? throw ApiException.MissingField("share_id", "query"), Perm.Read).Share;
            return new FolderDto(RootAlias, TenantId, share.Id, null, string.Empty, "/", share.OwnerId, share.OwnerId, share.CreatedAt, share.ModifiedAt, false);
        }

        return ToDto(db, RequireFolder(db, caller, folderId, Perm.Read, allowDeleted: true));
    });

    public sealed record ChildrenPage(List<object> Items, string Path, int Total, int Limit, int Offset);

    public ChildrenPage ListChildren(Caller caller, string folderId, string? shareId, bool includeDeleted, int limit, int offset) => _db.Read(db =>
    {
        string? parentId;
        string share;
        if (folderId == RootAlias)
        {
            share = RequireShare(db, caller, shareId ?? throw ApiException.MissingField("share_id", "query"), Perm.Read).Share.Id;
            parentId = null;
        }
        else
        {
            FolderRow folder = RequireFolder(db, caller, folderId, Perm.Read, allowDeleted: includeDeleted);
            share = folder.ShareId;
            parentId = folder.Id;
        }

        string path = FolderPath(db, parentId);
        string deletedFilter = includeDeleted ? string.Empty : " AND is_deleted=0";

        // Folders first, then files, each by name; only the rows of the requested page are read. Reading every child
        // and slicing made each page of a 10,000-entry folder cost as much as the whole folder (45 ms a page here).
        string folderRows = $"FROM folders WHERE share_id=$s AND parent_id IS $p{deletedFilter}";
        string fileRows = $"FROM files WHERE share_id=$s AND folder_id IS $p{deletedFilter}";
        int folderCount = (int)db.Scalar<long>($"SELECT COUNT(*) {folderRows}", ("$s", share), ("$p", parentId));
        int fileCount = (int)db.Scalar<long>($"SELECT COUNT(*) {fileRows}", ("$s", share), ("$p", parentId));
        var items = new List<object>(Math.Max(0, Math.Min(limit, folderCount + fileCount - offset)));
        if (offset < folderCount)
        {
            foreach (FolderRow folder in db.Query(
                $"SELECT {FolderRow.Columns} {folderRows} ORDER BY name_key, name LIMIT $limit OFFSET $offset",
                FolderRow.Read, ("$s", share), ("$p", parentId), ("$limit", limit), ("$offset", offset)))
            {
                items.Add(ToDto(db, folder, path));
            }
        }

        int fileLimit = limit - items.Count;
        long fileOffset = Math.Max(0L, (long)offset - folderCount);
        if (fileLimit > 0 && fileOffset < fileCount)
        {
            foreach (FileRow file in db.Query(
                $"SELECT {FileRow.Columns} {fileRows} ORDER BY name_key, name LIMIT $limit OFFSET $offset",
                FileRow.Read, ("$s", share), ("$p", parentId), ("$limit", fileLimit), ("$offset", fileOffset)))
            {
                items.Add(ToDto(file, path));
            }
        }

        return new ChildrenPage(items, path, folderCount + fileCount, limit, offset);
    });

    public FolderDto CreateFolder(Caller caller, string shareId, string? parentId, string name) => Mutate((db, changes) =>
    {
        string clean = CheckName(name);
        string? parent = RequireContainer(db, caller, shareId, parentId, Perm.Create);
        CheckNoSibling(db, shareId, parent, clean, null);
        string id = NewId("fld");
        string now = Now();
        db.Exec(
            "INSERT INTO folders(id, share_id, parent_id, name, name_key, owner_id, created_by, created_at, modified_at) VALUES ($id, $s, $p, $n, $k, $u, $u, $now, $now)",
            ("$id", id), ("$s", shareId), ("$p", parent), ("$n", clean), ("$k", NameKey(clean)), ("$u", caller.UserId), ("$now", now));
        FolderDto dto = ToDto(db, GetFolderRow(db, id)!);
        AppendFolderChange(db, changes, "created", dto, null, caller);
        return dto;
    });

    public FolderDto RenameFolder(Caller caller, string folderId, string newName) => Mutate((db, changes) =>
    {
        string clean = CheckName(newName);
        FolderRow folder = RequireFolder(db, caller, folderId, Perm.Write);
        string oldPath = ToDto(db, folder).Path;
        if (clean == folder.Name)
        {
            return ToDto(db, folder);
        }

        CheckNoSibling(db, folder.ShareId, folder.ParentId, clean, folder.Id);
        db.Exec("UPDATE folders SET name=$n, name_key=$k, modified_at=$now WHERE id=$id",
            ("$n", clean), ("$k", NameKey(clean)), ("$now", Now()), ("$id", folder.Id));
        FolderDto dto = ToDto(db, GetFolderRow(db, folder.Id)!);
        AppendFolderChange(db, changes, "renamed", dto, oldPath, caller);
        return dto;
    });

    /// <summary>
    /// Moves a folder under <paramref name="targetFolderId"/> (or the root of <paramref name="targetShareId"/>). A move
    /// within a share appends one <c>moved</c>; across shares, <c>deleted</c> in the old share and <c>created</c> in the new.
    /// </summary>
    public FolderDto MoveFolder(Caller caller, string folderId, string? targetFolderId, string? targetShareId, string? newName) => Mutate((db, changes) =>
    {
        FolderRow folder = RequireFolder(db, caller, folderId, Perm.Delete);
        string? target = RequireContainer(db, caller, targetFolderId is null or RootAlias ? targetShareId ?? folder.ShareId : null, targetFolderId, Perm.Create);
        string targetShare = target is null ? targetShareId ?? folder.ShareId : GetFolderRow(db, target)!.ShareId;
        List<string> subtree = Subtree(db, folder.Id);
        if (target is not null && subtree.Contains(target))
        {
            throw ApiException.BadRequest("INVALID_PATH", "A folder cannot be moved into itself or its own subtree");
        }

        string name = newName is null ? folder.Name : CheckName(newName);
        CheckNoSibling(db, targetShare, target, name, folder.Id);
        FolderDto before = ToDto(db, folder);
        if (targetShare != folder.ShareId)
        {
            long bytes = SubtreeBytes(db, subtree);
            CheckQuota(db, targetShare, bytes);
            foreach (string id in subtree)
            {
                db.Exec("UPDATE folders SET share_id=$s WHERE id=$id", ("$s", targetShare), ("$id", id));
                db.Exec("UPDATE files SET share_id=$s WHERE folder_id=$id", ("$s", targetShare), ("$id", id));
            }
        }

        db.Exec("UPDATE folders SET parent_id=$p, name=$n, name_key=$k, modified_at=$now WHERE id=$id",
            ("$p", target), ("$n", name), ("$k", NameKey(name)), ("$now", Now()), ("$id", folder.Id));
        FolderDto after = ToDto(db, GetFolderRow(db, folder.Id)!);
        if (targetShare != folder.ShareId)
        {
            AppendFolderChange(db, changes, "deleted", before, before.Path, caller);
            AppendFolderChange(db, changes, "created", after, null, caller);
        }
        else
        {
            AppendFolderChange(db, changes, "moved", after, before.Path, caller);
        }

        return after;
    });

    private static long SubtreeBytes(Db db, List<string> folderIds) =>
        folderIds.Sum(id => db.Scalar<long?>("SELECT SUM(size) FROM files WHERE folder_id=$f", ("$f", id)) ?? 0);

    /// <summary>
    /// Soft delete marks the folder and every live descendant as deleted "with" it; permanent delete removes the
    /// subtree and its versions. Either way one <c>deleted</c> change is appended for the folder alone: a follower
    /// drops the whole subtree from that entry.
    /// </summary>
    public void DeleteFolder(Caller caller, string folderId, bool permanent)
    {
        List<string> orphanBlobs = Mutate((db, changes) =>
        {
            FolderRow folder = RequireFolder(db, caller, folderId, Perm.Delete, allowDeleted: permanent);
            FolderDto dto = ToDto(db, folder);
            List<string> subtree = Subtree(db, folder.Id);
            var blobs = new List<string>();
            if (permanent)
            {
                foreach (string id in subtree)
                {
                    foreach (string fileId in db.Query("SELECT id FROM files WHERE folder_id=$f", r => r.GetString(0), ("$f", id)))
                    {
                        blobs.AddRange(DeleteFileRowsUnsynchronized(db, fileId));
                    }

                    db.Exec("DELETE FROM folders WHERE id=$id", ("$id", id));
                }
            }
            else if (!folder.IsDeleted)
            {
                foreach (string id in subtree)
                {
                    db.Exec("UPDATE folders SET is_deleted=1, deleted_with=$r WHERE id=$id AND is_deleted=0 AND id <> $r", ("$r", folder.Id), ("$id", id));
                    db.Exec("UPDATE files SET is_deleted=1, deleted_with=$r WHERE folder_id=$id AND is_deleted=0", ("$r", folder.Id), ("$id", id));
                }

                db.Exec("UPDATE folders SET is_deleted=1, deleted_with=NULL, modified_at=$now WHERE id=$id", ("$now", Now()), ("$id", folder.Id));
            }

            if (!folder.IsDeleted)
            {
                AppendFolderChange(db, changes, "deleted", dto with { IsDeleted = true }, dto.Path, caller);
            }

            return blobs;
        });
        CollectBlobs(orphanBlobs);
    }

    /// <summary>Restores a trashed folder and what its delete took with it (not items trashed on their own before).</summary>
    public FolderDto RestoreFolder(Caller caller, string folderId) => Mutate((db, changes) =>
    {
        FolderRow folder = RequireFolder(db, caller, folderId, Perm.Delete, allowDeleted: true);
        if (!folder.IsDeleted)
        {
            return ToDto(db, folder);
        }

        if (folder.DeletedWith is not null || (folder.ParentId is not null && GetFolderRow(db, folder.ParentId)!.IsDeleted))
        {
            throw ApiException.Gone($"The parent of folder {folderId}");
        }

        CheckNoSibling(db, folder.ShareId, folder.ParentId, folder.Name, folder.Id);
        db.Exec("UPDATE folders SET is_deleted=0, deleted_with=NULL WHERE deleted_with=$r", ("$r", folder.Id));
        db.Exec("UPDATE files SET is_deleted=0, deleted_with=NULL WHERE deleted_with=$r", ("$r", folder.Id));
        db.Exec("UPDATE folders SET is_deleted=0, modified_at=$now WHERE id=$id", ("$now", Now()), ("$id", folder.Id));
        FolderDto dto = ToDto(db, GetFolderRow(db, folder.Id)!);
        AppendFolderChange(db, changes, "created", dto, null, caller);
        return dto;
    });
}
