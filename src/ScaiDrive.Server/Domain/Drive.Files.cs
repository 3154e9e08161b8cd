using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

// Files: metadata, versions, trash, copy and move. Content is a blob named by the version's checksum.
internal sealed partial class Drive
{
    private FileDto ToDto(FileRow file, string parentPath) => new(
        file.Id, TenantId, file.ShareId, file.FolderId, file.Name, ChildPath(parentPath, file.Name), file.MimeType,
        file.Size, file.Checksum, file.Version, file.VersionId, file.OwnerId, file.CreatedBy, file.CreatedAt,
        file.ModifiedBy, file.ModifiedAt, file.IsDeleted);

    private FileDto ToDto(Db db, FileRow file) => ToDto(file, FolderPath(db, file.FolderId));

    private static FileRow? GetFileRow(Db db, string fileId) =>
        db.QuerySingle($"SELECT {FileRow.Columns} FROM files WHERE id=$id", FileRow.Read, ("$id", fileId));

    private static FileRow RequireFile(Db db, Caller caller, string fileId, Perm needed, bool allowDeleted = false)
    {
        FileRow file = GetFileRow(db, fileId) ?? throw ApiException.NotFound($"File {fileId}");
        RequirePermission(db, caller, file.ShareId, needed, $"file/{fileId}");
        if (file.IsDeleted && !allowDeleted)
        {
            throw ApiException.Gone($"File {fileId}");
        }

        return file;
    }

    public FileDto GetFile(Caller caller, string fileId) => _db.Read(db => ToDto(db, RequireFile(db, caller, fileId, Perm.Read)));

    /// <summary>What a download needs: the blob path plus the headers' facts.</summary>
    public sealed record ContentInfo(string BlobPath, long Size, string Checksum, string MimeType, string Name, long Version);

    public ContentInfo GetContent(Caller caller, string fileId, long? version) => _db.Read(db =>
    {
        FileRow file = RequireFile(db, caller, fileId, Perm.Read);
        if (version is null || version == file.Version)
        {
            return new ContentInfo(_blobs.PathOf(file.Checksum), file.Size, file.Checksum, file.MimeType, file.Name, file.Version);
        }

        VersionRow v = db.QuerySingle($"SELECT {VersionRow.Columns} FROM versions WHERE file_id=$f AND version_number=$n", VersionRow.Read, ("$f", fileId), ("$n", version))
            ?? throw ApiException.NotFound($"Version {version} of file {fileId}");
        return new ContentInfo(_blobs.PathOf(v.Checksum), v.Size, v.Checksum, file.MimeType, file.Name, v.VersionNumber);
    });

    /// <summary>Checks that the caller may create <paramref name="name"/> in the target, before any content is read.</summary>
    public void CheckCanCreateFile(Caller caller, string shareId, string? folderId, string name, long? knownSize) => _db.Read(db =>
    {
        string? parent = RequireContainer(db, caller, shareId, folderId, Perm.Create);
        CheckNoSibling(db, shareId, parent, CheckName(name), null);
        if (knownSize is long size)
        {
            CheckQuota(db, shareId, size);
        }

        return 0;
    });

    /// <summary>Turns stored content into a new file (version 1). The blob is published under the DB gate, so blob GC cannot race it.</summary>
    public FileDto CreateFile(Caller caller, string shareId, string? folderId, string name, string? mimeType, BlobWriter content, StoredBlobInfo blob) =>
        Mutate((db, changes) =>
        {
            string clean = CheckName(name);
            string? parent = RequireContainer(db, caller, shareId, folderId, Perm.Create);
            CheckNoSibling(db, shareId, parent, clean, null);
            CheckQuota(db, shareId, blob.Size);
            StoredBlob stored = content.PublishUnderGate();
            IndexChunks(db, stored);
            FileRow file = InsertFileUnsynchronized(db, caller, shareId, parent, clean, mimeType ?? GuessMimeType(clean), stored.Sha256, stored.Size);
            FileDto dto = ToDto(db, file);
            AppendFileChange(db, changes, "created", dto, null, caller);
            return dto;
        });

    private FileRow InsertFileUnsynchronized(Db db, Caller caller, string shareId, string? folderId, string name, string mimeType, string checksum, long size)
    {
        string id = NewId("fil");
        string versionId = NewId("ver");
        string now = Now();
        db.Exec(
            """
            INSERT INTO files(id, share_id, folder_id, name, name_key, mime_type, version, version_id, size, checksum, owner_id, created_by, created_at, modified_by, modified_at)
            VALUES ($id, $s, $f, $n, $k, $m, 1, $v, $size, $c, $u, $u, $now, $u, $now)
            """,
            ("$id", id), ("$s", shareId), ("$f", folderId), ("$n", name), ("$k", NameKey(name)), ("$m", mimeType),
            ("$v", versionId), ("$size", size), ("$c", checksum), ("$u", caller.UserId), ("$now", now));
        db.Exec(
            "INSERT INTO versions(id, file_id, version_number, size, checksum, created_by, created_at) VALUES ($v, $id, 1, $size, $c, $u, $now)",
            ("$v", versionId), ("$id", id), ("$size", size), ("$c", checksum), ("$u", caller.UserId), ("$now", now));
        return GetFileRow(db, id)!;
    }

    /// <summary>Adds a version with new content to an existing file (resumable <c>replace_file_id</c>, version restore).</summary>
    private FileRow AddVersionUnsynchronized(Db db, Caller caller, FileRow file, string checksum, long size)
    {
        string versionId = NewId("ver");
        string now = Now();
        long number = (db.Scalar<long?>("SELECT MAX(version_number) FROM versions WHERE file_id=$f", ("$f", file.Id)) ?? file.Version) + 1;
        db.Exec(
            "INSERT INTO versions(id, file_id, version_number, size, checksum, created_by, created_at) VALUES ($v, $f, $n, $size, $c, $u, $now)",
            ("$v", versionId), ("$f", file.Id), ("$n", number), ("$size", size), ("$c", checksum), ("$u", caller.UserId), ("$now", now));
        db.Exec(
            "UPDATE files SET version=$n, version_id=$v, size=$size, checksum=$c, modified_by=$u, modified_at=$now WHERE id=$f",
            ("$n", number), ("$v", versionId), ("$size", size), ("$c", checksum), ("$u", caller.UserId), ("$now", now), ("$f", file.Id));
        return GetFileRow(db, file.Id)!;
    }

    private static void IndexChunks(Db db, StoredBlob blob)
    {
        foreach (IndexedChunk chunk in blob.Chunks)
        {
            db.Exec(
                "INSERT OR IGNORE INTO chunk_index(sha256, blob, offset, length) VALUES ($h, $b, $o, $l)",
                ("$h", chunk.Sha256), ("$b", blob.Sha256), ("$o", chunk.Offset), ("$l", chunk.Length));
        }
    }

    /// <summary>
    /// PATCH: rename (<c>name</c>), move within the share (<c>folder_id</c>, §20 #7) and restore from trash
    /// (<c>is_deleted: false</c>, §21.8). Each applied part appends its own change.
    /// </summary>
    public FileDto UpdateFile(Caller caller, string fileId, string? newName, string? newFolderId, bool restore) => Mutate((db, changes) =>
    {
        FileRow file = RequireFile(db, caller, fileId, restore ? Perm.Delete : Perm.Write, allowDeleted: restore);
        if (restore && file.IsDeleted)
        {
            if (file.DeletedWith is not null || (file.FolderId is not null && GetFolderRow(db, file.FolderId)!.IsDeleted))
            {
                throw ApiException.Gone($"The folder of file {fileId}");
            }

            CheckNoSibling(db, file.ShareId, file.FolderId, file.Name, file.Id);
            db.Exec("UPDATE files SET is_deleted=0, deleted_with=NULL WHERE id=$id", ("$id", file.Id));
            file = GetFileRow(db, file.Id)!;
            AppendFileChange(db, changes, "created", ToDto(db, file), null, caller);
        }
        else if (file.IsDeleted)
        {
            throw ApiException.Gone($"File {fileId}");
        }

        if (newFolderId is not null || newName is not null)
        {
            file = MoveFileUnsynchronized(db, changes, caller, file, newFolderId ?? file.FolderId ?? RootAlias, null, newName);
        }

        return ToDto(db, file);
    });

    public FileDto MoveFile(Caller caller, string fileId, string? targetFolderId, string? targetShareId, string? newName) => Mutate((db, changes) =>
    {
        FileRow file = RequireFile(db, caller, fileId, Perm.Delete);
        return ToDto(db, MoveFileUnsynchronized(db, changes, caller, file, targetFolderId, targetShareId, newName));
    });

    private FileRow MoveFileUnsynchronized(Db db, List<ChangeDto> changes, Caller caller, FileRow file, string? targetFolderId, string? targetShareId, string? newName)
    {
        string name = newName is null ? file.Name : CheckName(newName);
        string shareHint = targetShareId ?? file.ShareId;
        string? target = RequireContainer(db, caller, targetFolderId is null or RootAlias ? shareHint : null, targetFolderId, Perm.Create);
        string targetShare = target is null ? shareHint : GetFolderRow(db, target)!.ShareId;
        bool onlyRename = target == file.FolderId && targetShare == file.ShareId;
        if (onlyRename && name == file.Name)
        {
            return file;
        }

        RequirePermission(db, caller, file.ShareId, onlyRename ? Perm.Write : Perm.Delete, $"file/{file.Id}");
        CheckNoSibling(db, targetShare, target, name, file.Id);
        if (targetShare != file.ShareId)
        {
            CheckQuota(db, targetShare, file.Size);
        }

        FileDto before = ToDto(db, file);
        db.Exec(
            "UPDATE files SET share_id=$s, folder_id=$f, name=$n, name_key=$k, modified_at=$now WHERE id=$id",
            ("$s", targetShare), ("$f", target), ("$n", name), ("$k", NameKey(name)), ("$now", Now()), ("$id", file.Id));
        FileRow moved = GetFileRow(db, file.Id)!;
        FileDto after = ToDto(db, moved);
        if (targetShare != file.ShareId)
        {
            AppendFileChange(db, changes, "deleted", before with { IsDeleted = true }, before.Path, caller);
            AppendFileChange(db, changes, "created", after, null, caller);
        }
        else
        {
            AppendFileChange(db, changes, onlyRename ? "renamed" : "moved", after, before.Path, caller);
        }

        return moved;
    }

    public FileDto CopyFile(Caller caller, string fileId, string? targetFolderId, string? targetShareId, string? newName) => Mutate((db, changes) =>
    {
        FileRow source = RequireFile(db, caller, fileId, Perm.Read);
        string shareHint = targetShareId ?? source.ShareId;
        string? target = RequireContainer(db, caller, targetFolderId is null or RootAlias ? shareHint : null, targetFolderId, Perm.Create);
        string targetShare = target is null ? shareHint : GetFolderRow(db, target)!.ShareId;
        string name = newName is null ? source.Name : CheckName(newName);
        CheckNoSibling(db, targetShare, target, name, null);
        CheckQuota(db, targetShare, source.Size);
        FileRow copy = InsertFileUnsynchronized(db, caller, targetShare, target, name, source.MimeType, source.Checksum, source.Size);
        FileDto dto = ToDto(db, copy);
        AppendFileChange(db, changes, "created", dto, null, caller);
        return dto;
    });

    public void DeleteFile(Caller caller, string fileId, bool permanent)
    {
        List<string> orphans = Mutate((db, changes) =>
        {
            FileRow file = RequireFile(db, caller, fileId, Perm.Delete, allowDeleted: permanent);
            FileDto dto = ToDto(db, file);
            var blobs = new List<string>();
            if (permanent)
            {
                blobs.AddRange(DeleteFileRowsUnsynchronized(db, file.Id));
            }
            else
            {
                db.Exec("UPDATE files SET is_deleted=1, deleted_with=NULL WHERE id=$id", ("$id", file.Id));
            }

            if (!file.IsDeleted)
            {
                AppendFileChange(db, changes, "deleted", dto with { IsDeleted = true }, dto.Path, caller);
            }

            return blobs;
        });
        CollectBlobs(orphans);
    }

    /// <summary>Deletes a file's rows; returns the checksums its versions used (GC candidates).</summary>
    private static List<string> DeleteFileRowsUnsynchronized(Db db, string fileId)
    {
        List<string> checksums = db.Query("SELECT DISTINCT checksum FROM versions WHERE file_id=$f", r => r.GetString(0), ("$f", fileId));
        db.Exec("DELETE FROM versions WHERE file_id=$f", ("$f", fileId));
        db.Exec("DELETE FROM files WHERE id=$f", ("$f", fileId));
        return checksums;
    }

    /// <summary>Removes blobs no version references any more. Runs under the gate, so no upload can pick one up meanwhile.</summary>
    private void CollectBlobs(List<string> candidates)
    {
        if (candidates.Count == 0)
        {
            return;
        }

        _db.Write(db =>
        {
            foreach (string sha in candidates.Distinct())
            {
                if (db.Scalar<long>("SELECT COUNT(*) FROM versions WHERE checksum=$c", ("$c", sha)) == 0)
                {
                    db.Exec("DELETE FROM chunk_index WHERE blob=$b", ("$b", sha));
                    _blobs.Delete(sha);
                }
            }
        });
    }

    public sealed record VersionDto(string Id, long VersionNumber, long Size, string ChecksumSha256, string CreatedBy, string CreatedAt, bool IsCurrent);

    public List<VersionDto> ListVersions(Caller caller, string fileId) => _db.Read(db =>
    {
        FileRow file = RequireFile(db, caller, fileId, Perm.Read);
        return db.Query(
            $"SELECT {VersionRow.Columns} FROM versions WHERE file_id=$f ORDER BY version_number DESC",
            r =>
            {
                VersionRow v = VersionRow.Read(r);
                return new VersionDto(v.Id, v.VersionNumber, v.Size, v.Checksum, v.CreatedBy, v.CreatedAt, v.Id == file.VersionId);
            },
            ("$f", fileId));
    });

    public sealed record VersionRestoreDto(string Id, long RestoredFromVersion, long Version, string VersionId, FileDto File);

    public VersionRestoreDto RestoreVersion(Caller caller, string fileId, long version) => Mutate((db, changes) =>
    {
        FileRow file = RequireFile(db, caller, fileId, Perm.Write);
        VersionRow old = db.QuerySingle($"SELECT {VersionRow.Columns} FROM versions WHERE file_id=$f AND version_number=$n", VersionRow.Read, ("$f", fileId), ("$n", version))
            ?? throw ApiException.NotFound($"Version {version} of file {fileId}");
        CheckQuota(db, file.ShareId, old.Size - file.Size);
        FileRow updated = AddVersionUnsynchronized(db, caller, file, old.Checksum, old.Size);
        FileDto dto = ToDto(db, updated);
        AppendFileChange(db, changes, "updated", dto, dto.Path, caller);
        return new VersionRestoreDto(file.Id, version, updated.Version, updated.VersionId, dto);
    });
}

/// <summary>Size of content already written by a <see cref="BlobWriter"/>, known before it is published.</summary>
internal readonly record struct StoredBlobInfo(long Size);
