using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

/// <summary>
/// Resumable uploads (§8, §21.3). All chunks of a session land in one file, <c>uploads/&lt;session&gt;/data</c>,
/// created at the file's full size: a PUT hashes the body while writing it at the chunk's offset, then records the
/// chunk in one transaction. A background hasher (<see cref="StagedUpload"/>) keeps the SHA-256 of the contiguous
/// prefix, so <c>/complete</c> hashes only what is left and renames the file into the blob store. Dedup hints: when
/// the create body lists <c>chunk_hashes</c>, chunks whose hash is in the 4 MiB chunk index of stored content are
/// copied from the blob at once and reported as <c>existing_chunks</c>.
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

    // Sessions with chunks in flight or a hasher running, by session ID; rebuilt from the database on first use.
    private readonly ConcurrentDictionary<string, StagedUpload> _staged = new(StringComparer.Ordinal);

    private string StagingDir(string sessionId) => Path.Combine(_uploadRoot, sessionId);

    private string DataPath(string sessionId) => Path.Combine(StagingDir(sessionId), StagedUpload.DataFileName);

    private StagedUpload Staged(UploadRow row) => _staged.GetOrAdd(row.Id, id => new StagedUpload(
        DataPath(id), row.FileSize, row.ChunkSize, row.TotalChunks,
        _db.Read(db => db.Query("SELECT idx FROM upload_chunks WHERE upload_id=$u", r => (int)r.GetInt64(0), ("$u", id)))));

    /// <summary>A file in <c>uploads/</c> that exists only between a clean stop and the next start.</summary>
    private const string CleanShutdownMarker = ".clean-shutdown";

    /// <summary>Re-hashes the recorded chunks of one session after a crash; forgets those that do not match.</summary>
    private void VerifyStagedChunks(string sessionId)
    {
        List<(int Index, long Size, string Sha)> chunks = _db.Read(db => db.Query(
            "SELECT u.idx, u.size, u.sha256 FROM upload_chunks u WHERE u.upload_id=$u",
            r => ((int)r.GetInt64(0), r.GetInt64(1), r.GetString(2)), ("$u", sessionId)));
        long chunkSize = _db.Read(db => db.Scalar<long>("SELECT chunk_size FROM uploads WHERE id=$u", ("$u", sessionId)));
        var bad = new List<int>();
        string path = DataPath(sessionId);
        if (!File.Exists(path))
        {
            bad.AddRange(chunks.Select(c => c.Index));
        }
        else
        {
            using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BlobStore.IndexChunkSize);
            try
            {
                foreach ((int index, long size, string sha) in chunks)
                {
                    Span<byte> data = buffer.AsSpan(0, (int)size);
                    int read = RandomAccess.Read(file, data, index * chunkSize);
                    if (read != size || Convert.ToHexStringLower(SHA256.HashData(data)) != sha)
                    {
                        bad.Add(index);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        if (bad.Count > 0)
        {
            _db.Write(db =>
            {
                foreach (int index in bad)
                {
                    db.Exec("DELETE FROM upload_chunks WHERE upload_id=$u AND idx=$i", ("$u", sessionId), ("$i", index));
                }
            });
        }
    }

    private void RetireStaged(string sessionId)
    {
        if (_staged.TryRemove(sessionId, out StagedUpload? staged))
        {
            staged.Retire();
        }
    }

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

        Directory.CreateDirectory(StagingDir(row.Id));
        StagedUpload.CreateFile(DataPath(row.Id), row.FileSize);
        var existing = new List<int>();
        foreach ((int index, string blob, long offset, long length) in hits)
        {
            string? sha = await CopyBlobRangeAsync(_blobs.PathOf(blob), offset, length, DataPath(row.Id), (long)index * row.ChunkSize, cancellationToken);
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

    /// <summary>Copies a blob range into the session file at <paramref name="at"/>, verifying it still hashes as indexed; null when the blob is gone.</summary>
    private static async Task<string?> CopyBlobRangeAsync(string blobPath, long offset, long length, string target, long at, CancellationToken cancellationToken)
    {
        try
        {
            await using FileStream source = BlobStore.OpenRead(blobPath);
            source.Position = offset;
            using SafeFileHandle output = File.OpenHandle(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BlobStore.CopyBufferSize);
            try
            {
                long done = 0;
                while (done < length)
                {
                    int read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(length - done, BlobStore.CopyBufferSize)), cancellationToken);
                    if (read == 0)
                    {
                        throw new EndOfStreamException();
                    }

                    hash.AppendData(buffer, 0, read);
                    await RandomAccess.WriteAsync(output, buffer.AsMemory(0, read), at + done, cancellationToken);
                    done += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (FileNotFoundException)
        {
            return null;
        }
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
            RetireStaged(row.Id);
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

    /// <summary>
    /// Streams one chunk into the session file at its offset (never buffered whole), hashing it on the way; checks its
    /// size and optional SHA-256, then records it in one transaction.
    /// </summary>
    public async Task<ChunkReceiptDto> PutChunkAsync(Caller caller, string sessionId, int index, PipeReader body, string? expectedSha, CancellationToken cancellationToken)
    {
        UploadRow row = _db.Read(db => RequireUpload(db, caller, sessionId));
        if (index < 0 || index >= row.TotalChunks)
        {
            throw ApiException.BadRequest("INVALID_CHUNK_INDEX", $"Chunk index {index} is outside 0..{row.TotalChunks - 1}");
        }

        StagedUpload staged = Staged(row);
        if (!staged.TryBeginWrite(index, out bool wasReceived))
        {
            throw new ApiException(409, "UPLOAD_COMPLETING", $"Upload session {sessionId} is being completed; chunks can no longer change");
        }

        bool received = false;
        try
        {
            if (wasReceived)
            {
                // Until the new bytes are verified the chunk is not received, so a write that dies half-way is never trusted.
                _db.Write(db => db.Exec("DELETE FROM upload_chunks WHERE upload_id=$u AND idx=$i", ("$u", row.Id), ("$i", index)));
            }

            long expected = staged.Length(index);
            long offset = staged.Offset(index);
            string sha;
            long size = 0;
            SafeFileHandle output;
            try
            {
                output = staged.OpenForWrite();
            }
            catch (DirectoryNotFoundException)
            {
                // Aborted or completed meanwhile: answer as for any request to a finished session.
                _db.Read(db => RequireUpload(db, caller, sessionId));
                throw;
            }

            using (output)
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                size = await ReceiveChunkAsync(body, output, offset, expected, hash, cancellationToken);
                sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (size != expected)
            {
                throw ApiException.Validation("body", $"Chunk {index} must be exactly {expected} bytes");
            }

            if (expectedSha is not null && !string.Equals(expectedSha.Trim(), sha, StringComparison.OrdinalIgnoreCase))
            {
                throw new ApiException(422, "CHECKSUM_MISMATCH", $"Chunk {index} hashes to {sha}, not {expectedSha}")
                {
                    ValidationErrors = [new ValidationError(["header", "X-Chunk-SHA256"], "Chunk checksum mismatch", "checksum_mismatch")],
                };
            }

            int count = _db.Write(db =>
            {
                RequireUpload(db, caller, sessionId);
                db.Exec("INSERT OR REPLACE INTO upload_chunks(upload_id, idx, size, sha256) VALUES ($u, $i, $s, $h)",
                    ("$u", row.Id), ("$i", index), ("$s", size), ("$h", sha));
                db.Exec("UPDATE uploads SET expires_at=$e WHERE id=$id", ("$e", Expiry()), ("$id", row.Id));
                return (int)db.Scalar<long>("SELECT COUNT(*) FROM upload_chunks WHERE upload_id=$u", ("$u", row.Id));
            });
            received = true;
            return new ChunkReceiptDto(index, size, sha, count);
        }
        finally
        {
            staged.EndWrite(index, received);
        }
    }

    /// <summary>
    /// Once this much of a chunk is buffered in the request pipe it is hashed and written in one vectored write. Kestrel
    /// stops reading the socket at 1 MiB buffered (MaxRequestBufferSize), so this must stay below that.
    /// </summary>
    private const int ChunkWriteBatch = 512 * 1024;

    /// <summary>
    /// Hashes and writes a chunk body straight from the request pipe's buffers (no copy into a buffer of ours): the
    /// pieces are appended to the hash and handed to one <c>pwritev</c> per batch. Returns the body's length, counting
    /// only up to the first batch that passes <paramref name="expected"/> (the caller rejects any length but that).
    /// </summary>
    private static async Task<long> ReceiveChunkAsync(
        PipeReader body, SafeFileHandle output, long offset, long expected, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var pieces = new List<ReadOnlyMemory<byte>>(ChunkWriteBatch / 4096 + 8);
        long size = 0;
        while (true)
        {
            ReadResult result = await body.ReadAsync(cancellationToken);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (!result.IsCompleted && buffer.Length < ChunkWriteBatch)
            {
                body.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            if (size + buffer.Length > expected)
            {
                size += buffer.Length;
                body.AdvanceTo(buffer.End);
                return size;
            }

            if (!buffer.IsEmpty)
            {
                pieces.Clear();
                foreach (ReadOnlyMemory<byte> piece in buffer)
                {
                    hash.AppendData(piece.Span);
                    pieces.Add(piece);
                }

                await RandomAccess.WriteAsync(output, pieces, offset + size, cancellationToken);
                size += buffer.Length;
            }

            body.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return size;
            }
        }
    }

    /// <summary>
    /// Seals the session file (the hasher's running SHA-256 plus whatever is left, checked against the whole-file
    /// checksum), then in one transaction renames it into the blob store and creates the file or adds a version to
    /// <c>replace_file_id</c>. Completing a completed session answers the same file again.
    /// </summary>
    public async Task<FileDto> CompleteUploadAsync(Caller caller, string sessionId, CancellationToken cancellationToken)
    {
        UploadRow row = _db.Read(db => RequireUpload(db, caller, sessionId, allowFinished: true));
        if (row.Status == "completed")
        {
            return GetFile(caller, row.ResultFileId!);
        }

        StagedUpload staged = Staged(row);
        await staged.CompleteGate.WaitAsync(cancellationToken);
        try
        {
            // A completion that overlapped this one (a retry after a lost answer) may have finished meanwhile.
            row = _db.Read(db => RequireUpload(db, caller, sessionId, allowFinished: true));
            if (row.Status == "completed")
            {
                return GetFile(caller, row.ResultFileId!);
            }

            var missing = new List<int>();
            SealedContent content = await staged.SealAsync(missing, cancellationToken)
                ?? throw new ApiException(409, "UPLOAD_INCOMPLETE", $"{missing.Count} chunk(s) missing",
                    new Dictionary<string, object> { ["missing_chunks"] = missing });
            FileDto result;
            bool published = false;
            try
            {
                result = Publish(caller, row, staged, content);
                published = true;
            }
            finally
            {
                if (!published)
                {
                    staged.Unseal();
                }
            }

            RetireStaged(row.Id);
            DeleteStaging(row.Id);
            return result;
        }
        finally
        {
            staged.CompleteGate.Release();
        }
    }

    private FileDto Publish(Caller caller, UploadRow row, StagedUpload staged, SealedContent content)
    {
        if (row.Checksum is not null && row.Checksum != content.Sha256)
        {
            throw new ApiException(422, "CHECKSUM_MISMATCH", $"Uploaded content hashes to {content.Sha256}, not {row.Checksum}")
            {
                ValidationErrors = [new ValidationError(["body", "checksum_sha256"], "File checksum mismatch", "checksum_mismatch")],
            };
        }

        // With 4 MiB chunks the dedup index is exactly the chunk hashes recorded as they arrived.
        IReadOnlyList<IndexedChunk> chunks = content.IndexChunks ?? _db.Read(db => db.Query(
            "SELECT sha256, idx, size FROM upload_chunks WHERE upload_id=$u ORDER BY idx",
            r => new IndexedChunk(r.GetString(0), r.GetInt64(1) * BlobStore.IndexChunkSize, r.GetInt64(2)),
            ("$u", row.Id)));
        return Mutate((db, changes) =>
        {
            UploadRow current = RequireUpload(db, caller, row.Id, allowFinished: true);
            if (current.Status == "completed")
            {
                return ToDto(db, GetFileRow(db, current.ResultFileId!)!);
            }

            string? parent = null;
            FileRow? target = null;
            if (row.ReplaceFileId is not null)
            {
                target = RequireFile(db, caller, row.ReplaceFileId, Perm.Write);
                CheckBaseVersion(target, row.BaseVersionId);
                CheckQuota(db, target.ShareId, content.Size - target.Size);
            }
            else
            {
                parent = RequireContainer(db, caller, row.ShareId, row.FolderId, Perm.Create);
                CheckNoSibling(db, row.ShareId, parent, row.FileName, null);
                CheckQuota(db, row.ShareId, content.Size);
            }

            // Under the gate, in the transaction that makes a version point at it, so blob GC cannot race it.
            bool moved = _blobs.PublishFile(staged.Path, content.Sha256);
            try
            {
                var stored = new StoredBlob(content.Sha256, content.Size, chunks);
                IndexChunks(db, stored);
                FileRow file = target is not null
                    ? AddVersionUnsynchronized(db, caller, target, stored.Sha256, stored.Size)
                    : InsertFileUnsynchronized(db, caller, row.ShareId, parent, row.FileName, row.MimeType, stored.Sha256, stored.Size);
                string changeType = target is not null ? "updated" : "created";
                db.Exec("UPDATE uploads SET status='completed', result_file_id=$f WHERE id=$id", ("$f", file.Id), ("$id", row.Id));
                db.Exec("DELETE FROM upload_chunks WHERE upload_id=$id", ("$id", row.Id));
                FileDto dto = ToDto(db, file);
                AppendFileChange(db, changes, changeType, dto, changeType == "updated" ? dto.Path : null, caller);
                return dto;
            }
            catch
            {
                if (moved)
                {
                    // The transaction rolls back: give the session its file back so a retry can complete it.
                    _blobs.Unpublish(staged.Path, content.Sha256);
                }

                throw;
            }
        });
    }

    public void AbortUpload(Caller caller, string sessionId)
    {
        _db.Write(db =>
        {
            UploadRow row = RequireUpload(db, caller, sessionId);
            db.Exec("UPDATE uploads SET status='aborted' WHERE id=$id", ("$id", row.Id));
            db.Exec("DELETE FROM upload_chunks WHERE upload_id=$id", ("$id", row.Id));
        });
        RetireStaged(sessionId);
        DeleteStaging(sessionId);
    }
}
