using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

/// <summary>
/// Resumable uploads (§8, §21.3). Chunks are staged as <c>uploads/&lt;session&gt;/&lt;index&gt;.chunk</c>: a PUT streams
/// to a temp file next to it and renames it into place, so a re-PUT is idempotent and parallel PUTs never see a
/// half-written chunk. Dedup hints: when the create body lists <c>chunk_hashes</c>, chunks whose hash is in the
/// 4 MiB chunk index of stored content are copied from the blob at once and reported as <c>existing_chunks</c>.
/// </summary>
internal sealed partial class Drive
{
    private const string UploadColumns = "id, user_id, share_id, folder_id, file_name, file_size, chunk_size, total_chunks, mime_type, checksum, replace_file_id, base_version_id, existing_chunks, status, result_file_id, created_at, expires_at";

    private sealed record UploadRow(
        string Id, string UserId, string ShareId, string? FolderId, string FileName, long FileSize, int ChunkSize, int TotalChunks,
        string MimeType, string? Checksum, string? ReplaceFileId, string? BaseVersionId, int[] ExistingChunks, string Status,
        string? ResultFileId, string CreatedAt, string ExpiresAt)
    {
        public static UploadRow Read(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
            r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.GetString(4), r.GetInt64(5), (int)r.GetInt64(6),
            (int)r.GetInt64(7), r.GetString(8), r.NullableString(9), r.NullableString(10), r.NullableString(11),
            JsonSerializer.Deserialize<int[]>(r.GetString(12)) ?? [], r.GetString(13), r.NullableString(14), r.GetString(15), r.GetString(16));

        public long ExpectedSize(int index) => index < TotalChunks - 1 ? ChunkSize : FileSize - ((long)ChunkSize * (TotalChunks - 1));
    }

    public sealed record UploadSessionDto(
        string Id, string SessionId, string ShareId, string? FolderId, string FileName, long FileSize, int ChunkSize, int TotalChunks,
        string MimeType, string? ChecksumSha256, string? ReplaceFileId, string? BaseVersionId, string Status, string? FileId,
        List<int> ReceivedChunks, List<int> MissingChunks, int[] ExistingChunks, long BytesReceived, string CreatedAt, string ExpiresAt);

    public sealed record CreateUpload(
        string ShareId, string? FolderId, string FileName, long FileSize, int ChunkSize, string? MimeType, string? Checksum,
        string? ReplaceFileId, string? BaseVersionId, IReadOnlyList<string>? ChunkHashes);

    public sealed record ChunkReceiptDto(int Index, long Size, string Sha256, int ReceivedChunksCount);

    private string StagingDir(string sessionId) => Path.Combine(_uploadRoot, sessionId);

    private static string ChunkPath(string dir, int index) => Path.Combine(dir, index.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".chunk");

    public async Task<UploadSessionDto> CreateUploadAsync(Caller caller, CreateUpload request, CancellationToken cancellationToken)
    {
        if (request.FileSize < 0)
        {
            throw ApiException.Validation("file_size", "file_size must be >= 0");
        }

        if (request.ChunkSize is < 64 * 1024 or > 4 * 1024 * 1024 || (request.ChunkSize & (request.ChunkSize - 1)) != 0)
        {
            throw ApiException.Validation("chunk_size", "chunk_size must be a power of two from 65536 to 4194304");
        }

        if (request.FileSize > _options.MaxFileSizeBytes)
        {
            throw new ApiException(413, "PAYLOAD_TOO_LARGE", $"File size {request.FileSize} exceeds the per-file limit of {_options.MaxFileSizeBytes} bytes");
        }

        int totalChunks = (int)((request.FileSize + request.ChunkSize - 1) / request.ChunkSize);
        if (request.ChunkHashes is { } hashes && hashes.Count != totalChunks)
        {
            throw ApiException.Validation("chunk_hashes", $"chunk_hashes must list {totalChunks} hashes");
        }

        string name = CheckName(request.FileName, "file_name");
        var hits = new List<(int Index, string Blob, long Offset, long Length)>();
        UploadRow row = _db.Write(db =>
        {
            string? parent = RequireContainer(db, caller, request.ShareId, request.FolderId, Perm.Create);
            long replacedSize = 0;
            string mime = request.MimeType ?? GuessMimeType(name);
            if (request.ReplaceFileId is not null)
            {
                FileRow target = RequireFile(db, caller, request.ReplaceFileId, Perm.Write);
                CheckBaseVersion(target, request.BaseVersionId);
                replacedSize = target.Size;
                mime = request.MimeType ?? target.MimeType;
            }
            else
            {
                CheckNoSibling(db, request.ShareId, parent, name, null);
            }

            CheckQuota(db, request.ShareId, request.FileSize - replacedSize);
            if (request.ChunkHashes is { } chunkHashes)
            {
                for (int i = 0; i < chunkHashes.Count; i++)
                {
                    long expected = i < totalChunks - 1 ? request.ChunkSize : request.FileSize - ((long)request.ChunkSize * (totalChunks - 1));
                    var hit = db.Query(
                        "SELECT blob, offset, length FROM chunk_index WHERE sha256=$h",
                        r => (r.GetString(0), r.GetInt64(1), r.GetInt64(2)),
                        ("$h", chunkHashes[i].ToLowerInvariant()));
                    if (hit.Count == 1 && hit[0].Item3 == expected)
                    {
                        hits.Add((i, hit[0].Item1, hit[0].Item2, hit[0].Item3));
                    }
                }
            }

            string id = NewId("ups");
            string now = Now();
            db.Exec(
                $"""
                INSERT INTO uploads({UploadColumns}) VALUES ($id, $u, $s, $f, $n, $size, $cs, $tc, $m, $c, $r, $b, '[]', 'active', NULL, $now, $exp)
                """,
                ("$id", id), ("$u", caller.UserId), ("$s", request.ShareId), ("$f", parent), ("$n", name), ("$size", request.FileSize),
                ("$cs", request.ChunkSize), ("$tc", totalChunks), ("$m", mime), ("$c", request.Checksum?.ToLowerInvariant()),
                ("$r", request.ReplaceFileId), ("$b", request.BaseVersionId), ("$now", now), ("$exp", Expiry()));
            return db.QuerySingle($"SELECT {UploadColumns} FROM uploads WHERE id=$id", UploadRow.Read, ("$id", id))!;
        });

        string dir = StagingDir(row.Id);
        Directory.CreateDirectory(dir);
        var existing = new List<int>();
        foreach ((int index, string blob, long offset, long length) in hits)
        {
            string? sha = await CopyBlobRangeAsync(_blobs.PathOf(blob), offset, length, ChunkPath(dir, index), cancellationToken);
            if (sha is not null)
            {
                existing.Add(index);
                _db.Write(db => db.Exec(
                    "INSERT OR REPLACE INTO upload_chunks(upload_id, idx, size, sha256) VALUES ($u, $i, $s, $h)",
                    ("$u", row.Id), ("$i", index), ("$s", length), ("$h", sha)));
            }
        }

        if (existing.Count > 0)
        {
            _db.Write(db => db.Exec("UPDATE uploads SET existing_chunks=$e WHERE id=$id", ("$e", JsonSerializer.Serialize(existing)), ("$id", row.Id)));
        }

        return GetUpload(caller, row.Id);
    }

    private static void CheckBaseVersion(FileRow file, string? baseVersion)
    {
        if (baseVersion is null || baseVersion == file.VersionId ||
            (long.TryParse(baseVersion, System.Globalization.CultureInfo.InvariantCulture, out long number) && number == file.Version))
        {
            return;
        }

        throw new ApiException(409, "SYNC_CONFLICT", $"base_version_id {baseVersion} is not the current version {file.VersionId} (v{file.Version}) of {file.Id}",
            new Dictionary<string, object> { ["server_version_id"] = file.VersionId, ["server_version"] = file.Version });
    }

    private string Expiry() => Time.Format(_time.GetUtcNow() + _options.UploadSessionLifetime);

    /// <summary>Copies a blob range into a staged chunk, verifying it still hashes as indexed; null when the blob is gone.</summary>
    private static async Task<string?> CopyBlobRangeAsync(string blobPath, long offset, long length, string target, CancellationToken cancellationToken)
    {
        try
        {
            await using FileStream source = BlobStore.OpenRead(blobPath);
            source.Position = offset;
            string temp = target + ".tmp" + Guid.NewGuid().ToString("N");
            string sha;
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                sha = await CopyHashedAsync(source, output, length, cancellationToken);
            }

            File.Move(temp, target, overwrite: true);
            return sha;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static async Task<string> CopyHashedAsync(Stream source, Stream output, long length, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BlobStore.CopyBufferSize);
        try
        {
            long left = length;
            while (left > 0)
            {
                int read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(left, BlobStore.CopyBufferSize)), cancellationToken);
                if (read == 0)
                {
                    throw new EndOfStreamException();
                }

                hash.AppendData(buffer, 0, read);
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The caller's session if it is still usable; 404 for others' sessions, 410 once expired.</summary>
    private UploadRow RequireUpload(Db db, Caller caller, string sessionId, bool allowFinished = false)
    {
        UploadRow row = db.QuerySingle($"SELECT {UploadColumns} FROM uploads WHERE id=$id", UploadRow.Read, ("$id", sessionId))
            ?? throw ApiException.NotFound($"Upload session {sessionId}");
        if (row.UserId != caller.UserId)
        {
            throw ApiException.NotFound($"Upload session {sessionId}");
        }

        if (row.Status == "active" && Time.Parse(row.ExpiresAt) <= _time.GetUtcNow())
        {
            db.Exec("UPDATE uploads SET status='expired' WHERE id=$id", ("$id", row.Id));
            DeleteStaging(row.Id);
            throw new ApiException(410, "UPLOAD_SESSION_EXPIRED", $"Upload session {sessionId} expired");
        }

        if (row.Status == "expired")
        {
            throw new ApiException(410, "UPLOAD_SESSION_EXPIRED", $"Upload session {sessionId} expired");
        }

        if (row.Status == "aborted" || (row.Status == "completed" && !allowFinished))
        {
            throw new ApiException(410, "GONE", $"Upload session {sessionId} is {row.Status}");
        }

        return row;
    }

    private void DeleteStaging(string sessionId)
    {
        try
        {
            Directory.Delete(StagingDir(sessionId), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    public UploadSessionDto GetUpload(Caller caller, string sessionId) => _db.Write(db =>
    {
        UploadRow row = RequireUpload(db, caller, sessionId, allowFinished: true);
        return ToDto(db, row);
    });

    private static UploadSessionDto ToDto(Db db, UploadRow row)
    {
        List<(int Index, long Size)> chunks = db.Query(
            "SELECT idx, size FROM upload_chunks WHERE upload_id=$u ORDER BY idx", r => ((int)r.GetInt64(0), r.GetInt64(1)), ("$u", row.Id));
        var received = chunks.Select(c => c.Index).ToList();
        var receivedSet = received.ToHashSet();
        var missing = Enumerable.Range(0, row.TotalChunks).Where(i => !receivedSet.Contains(i)).ToList();
        return new UploadSessionDto(
            row.Id, row.Id, row.ShareId, row.FolderId, row.FileName, row.FileSize, row.ChunkSize, row.TotalChunks, row.MimeType,
            row.Checksum, row.ReplaceFileId, row.BaseVersionId, row.Status, row.ResultFileId, received, missing, row.ExistingChunks,
            chunks.Sum(c => c.Size), row.CreatedAt, row.ExpiresAt);
    }

    /// <summary>Streams one chunk to disk (never buffered whole), checks its size and optional SHA-256, then records it.</summary>
    public async Task<ChunkReceiptDto> PutChunkAsync(Caller caller, string sessionId, int index, Stream body, string? expectedSha, CancellationToken cancellationToken)
    {
        UploadRow row = _db.Write(db => RequireUpload(db, caller, sessionId));
        if (index < 0 || index >= row.TotalChunks)
        {
            throw ApiException.BadRequest("INVALID_CHUNK_INDEX", $"Chunk index {index} is outside 0..{row.TotalChunks - 1}");
        }

        long expected = row.ExpectedSize(index);
        string dir = StagingDir(row.Id);
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $"{index}.tmp{Guid.NewGuid():N}");
        string sha;
        long size = 0;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BlobStore.CopyBufferSize);
            try
            {
                await using var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous);
                int read;
                while ((read = await ReadFullAsync(body, buffer.AsMemory(0, BlobStore.CopyBufferSize), cancellationToken)) > 0)
                {
                    size += read;
                    if (size > expected)
                    {
                        break;
                    }

                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (size != expected)
            {
                throw ApiException.Validation("body", $"Chunk {index} must be exactly {expected} bytes");
            }

            sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (expectedSha is not null && !string.Equals(expectedSha.Trim(), sha, StringComparison.OrdinalIgnoreCase))
            {
                throw new ApiException(422, "CHECKSUM_MISMATCH", $"Chunk {index} hashes to {sha}, not {expectedSha}")
                {
                    ValidationErrors = [new ValidationError(["header", "X-Chunk-SHA256"], "Chunk checksum mismatch", "checksum_mismatch")],
                };
            }

            File.Move(temp, ChunkPath(dir, index), overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        int count = _db.Write(db =>
        {
            RequireUpload(db, caller, sessionId);
            db.Exec("INSERT OR REPLACE INTO upload_chunks(upload_id, idx, size, sha256) VALUES ($u, $i, $s, $h)",
                ("$u", row.Id), ("$i", index), ("$s", size), ("$h", sha));
            db.Exec("UPDATE uploads SET expires_at=$e WHERE id=$id", ("$e", Expiry()), ("$id", row.Id));
            return (int)db.Scalar<long>("SELECT COUNT(*) FROM upload_chunks WHERE upload_id=$u", ("$u", row.Id));
        });
        return new ChunkReceiptDto(index, size, sha, count);
    }

    /// <summary>
    /// Fills <paramref name="buffer"/> from a request body (Kestrel hands out a few KiB per read), so hashing and the
    /// unbuffered file write work on large pieces: one syscall per MiB instead of hundreds per chunk.
    /// </summary>
    private static async ValueTask<int> ReadFullAsync(Stream body, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = await body.ReadAsync(buffer[total..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>
    /// Concatenates the staged chunks into a blob (checking the whole-file checksum), then in one transaction creates
    /// the file or adds a version to <c>replace_file_id</c>. Completing a completed session answers the same file again.
    /// </summary>
    public async Task<FileDto> CompleteUploadAsync(Caller caller, string sessionId, CancellationToken cancellationToken)
    {
        UploadRow row = _db.Write(db => RequireUpload(db, caller, sessionId, allowFinished: true));
        if (row.Status == "completed")
        {
            return GetFile(caller, row.ResultFileId!);
        }

        UploadSessionDto state = _db.Read(db => ToDto(db, row));
        if (state.MissingChunks.Count > 0)
        {
            throw new ApiException(409, "UPLOAD_INCOMPLETE", $"{state.MissingChunks.Count} chunk(s) missing",
                new Dictionary<string, object> { ["missing_chunks"] = state.MissingChunks });
        }

        string dir = StagingDir(row.Id);
        List<IndexedChunk>? known = row.ChunkSize != BlobStore.IndexChunkSize ? null : _db.Read(db => db.Query(
            "SELECT sha256, idx, size FROM upload_chunks WHERE upload_id=$u ORDER BY idx",
            r => new IndexedChunk(r.GetString(0), r.GetInt64(1) * BlobStore.IndexChunkSize, r.GetInt64(2)),
            ("$u", row.Id)));
        await using BlobWriter writer = known is null ? _blobs.CreateWriter() : _blobs.CreateWriter(known);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BlobStore.CopyBufferSize);
        try
        {
            for (int i = 0; i < row.TotalChunks; i++)
            {
                await using FileStream chunk = BlobStore.OpenRead(ChunkPath(dir, i));
                int read;
                while ((read = await chunk.ReadAsync(buffer.AsMemory(0, BlobStore.CopyBufferSize), cancellationToken)) > 0)
                {
                    await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        StoredBlobInfo info = await writer.FinishAsync(cancellationToken);
        if (info.Size != row.FileSize)
        {
            throw new ApiException(409, "UPLOAD_INCOMPLETE", $"Staged chunks hold {info.Size} bytes, expected {row.FileSize}");
        }

        if (row.Checksum is not null && row.Checksum != writer.Sha256)
        {
            throw new ApiException(422, "CHECKSUM_MISMATCH", $"Uploaded content hashes to {writer.Sha256}, not {row.Checksum}")
            {
                ValidationErrors = [new ValidationError(["body", "checksum_sha256"], "File checksum mismatch", "checksum_mismatch")],
            };
        }

        FileDto result = Mutate((db, changes) =>
        {
            UploadRow current = RequireUpload(db, caller, sessionId, allowFinished: true);
            if (current.Status == "completed")
            {
                return ToDto(db, GetFileRow(db, current.ResultFileId!)!);
            }

            FileRow file;
            string changeType;
            if (row.ReplaceFileId is not null)
            {
                FileRow target = RequireFile(db, caller, row.ReplaceFileId, Perm.Write);
                CheckBaseVersion(target, row.BaseVersionId);
                CheckQuota(db, target.ShareId, info.Size - target.Size);
                StoredBlob stored = writer.PublishUnderGate();
                IndexChunks(db, stored);
                file = AddVersionUnsynchronized(db, caller, target, stored.Sha256, stored.Size);
                changeType = "updated";
            }
            else
            {
                string? parent = RequireContainer(db, caller, row.ShareId, row.FolderId, Perm.Create);
                CheckNoSibling(db, row.ShareId, parent, row.FileName, null);
                CheckQuota(db, row.ShareId, info.Size);
                StoredBlob stored = writer.PublishUnderGate();
                IndexChunks(db, stored);
                file = InsertFileUnsynchronized(db, caller, row.ShareId, parent, row.FileName, row.MimeType, stored.Sha256, stored.Size);
                changeType = "created";
            }

            db.Exec("UPDATE uploads SET status='completed', result_file_id=$f WHERE id=$id", ("$f", file.Id), ("$id", row.Id));
            db.Exec("DELETE FROM upload_chunks WHERE upload_id=$id", ("$id", row.Id));
            FileDto dto = ToDto(db, file);
            AppendFileChange(db, changes, changeType, dto, changeType == "updated" ? dto.Path : null, caller);
            return dto;
        });
        DeleteStaging(row.Id);
        return result;
    }

    public void AbortUpload(Caller caller, string sessionId)
    {
        _db.Write(db =>
        {
            UploadRow row = RequireUpload(db, caller, sessionId);
            db.Exec("UPDATE uploads SET status='aborted' WHERE id=$id", ("$id", row.Id));
            db.Exec("DELETE FROM upload_chunks WHERE upload_id=$id", ("$id", row.Id));
        });
        DeleteStaging(sessionId);
    }
}
