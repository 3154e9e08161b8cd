using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Domain;

/// <summary>
/// Our extension to §8.2: <c>PATCH /api/v1/uploads/{session}</c> with <c>{"file_size": N}</c> (and optionally
/// <c>checksum_sha256</c>) changes the size of an active session, so a client can open a session while a file is still
/// being written and fix its size once it is known. A real ScaiDrive answers 404/405 and the mount falls back.
/// </summary>
internal sealed partial class Drive
{
    /// <summary>False makes the endpoint answer 405, as a server without the extension does (tests of the fallback).</summary>
    public bool UploadResizeEnabled => _options.UploadResizeEnabled;

    /// <summary>
    /// Resizes an active session. Every chunk received (or being written) must keep its exact length under the new
    /// size — a full chunk strictly inside it, or exactly the new last chunk — otherwise 409 UPLOAD_RESIZE_CONFLICT
    /// and nothing changes. The session file is resized; the background hash of the prefix stays valid.
    /// </summary>
    public UploadSessionDto ResizeUpload(Caller caller, string sessionId, long newSize, string? checksum)
    {
        if (newSize < 0)
        {
            throw ApiException.Validation("file_size", "file_size must be >= 0");
        }

        if (newSize > _options.MaxFileSizeBytes)
        {
            throw new ApiException(413, "PAYLOAD_TOO_LARGE", $"File size {newSize} exceeds the per-file limit of {_options.MaxFileSizeBytes} bytes");
        }

        return _db.Write(db =>
        {
            UploadRow row = RequireUpload(db, caller, sessionId);
            int totalChunks = (int)((newSize + row.ChunkSize - 1) / row.ChunkSize);
            if (row.ExistingChunks.Length > 0 && newSize != row.FileSize)
            {
                // Dedup hints were matched against the create's chunk_hashes, i.e. against that size.
                throw new ApiException(409, "UPLOAD_RESIZE_CONFLICT", $"Upload session {sessionId} was created with chunk_hashes; its size cannot change");
            }

            if (newSize > row.FileSize)
            {
                long replaced = row.ReplaceFileId is null ? 0 : GetFileRow(db, row.ReplaceFileId)?.Size ?? 0;
                CheckQuota(db, row.ShareId, newSize - replaced);
            }

            long LengthUnder(long size, int index) => Math.Min(row.ChunkSize, size - ((long)index * row.ChunkSize));
            List<int> received = db.Query("SELECT idx FROM upload_chunks WHERE upload_id=$u", r => (int)r.GetInt64(0), ("$u", row.Id));
            StagedUpload staged = Staged(row);

            // Under the database write lock, so no chunk is recorded meanwhile; chunks being written are checked by
            // the staged upload itself, which refuses new writes and resizes atomically.
            var misfits = received.Where(i => i >= totalChunks || LengthUnder(newSize, i) != LengthUnder(row.FileSize, i)).Order().ToList();
            if (misfits.Count > 0 || !staged.TryResize(newSize, totalChunks))
            {
                throw new ApiException(409, "UPLOAD_RESIZE_CONFLICT", $"Received chunks would not keep their length at {newSize} bytes",
                    new Dictionary<string, object> { ["conflicting_chunks"] = misfits });
            }

            db.Exec("UPDATE uploads SET file_size=$size, total_chunks=$tc, checksum=COALESCE($c, checksum), expires_at=$e WHERE id=$id",
                ("$size", newSize), ("$tc", totalChunks), ("$c", checksum?.ToLowerInvariant()), ("$e", Expiry()), ("$id", row.Id));
            UploadRow updated = db.QuerySingle($"SELECT {UploadColumns} FROM uploads WHERE id=$id", UploadRow.Read, ("$id", row.Id))!;
            return ToDto(db, updated);
        });
    }
}
