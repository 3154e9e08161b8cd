namespace ScaiDrive.Client;

/// <summary>A caller's role on a share, ordered by power: viewer &lt; contributor &lt; editor &lt; admin &lt; owner.</summary>
public enum ShareRole
{
    /// <summary>Read only ("viewer" or "reader" on the wire).</summary>
    Viewer = 0,
    Contributor = 1,
    Editor = 2,
    Admin = 3,
    Owner = 4,
}

public sealed record UserProfile(string Id, string? Email, string? Name, string? TenantId);

/// <summary>A share as seen by the caller (from <c>/users/me/shares</c> or <c>/shares/{id}</c>).</summary>
public sealed record ShareInfo(
    ShareId Id,
    string Name,
    string? Type,
    ShareRole Role,
    string? OwnerId,
    long? QuotaBytes,
    long UsedBytes,
    DateTimeOffset? CreatedAt);

public sealed record FolderItem(
    FolderId Id,
    ShareId ShareId,
    FolderId? ParentId,
    string Name,
    string? Path,
    DateTimeOffset CreatedAt,
    DateTimeOffset ModifiedAt,
    bool IsDeleted);

/// <summary>
/// A file's metadata. <see cref="VersionId"/> is the ID of the current version when the server sends it
/// (our server does; needed as <c>base_version_id</c>); <see cref="Version"/> is the integer version number.
/// </summary>
public sealed record FileItem(
    FileId Id,
    ShareId ShareId,
    FolderId? FolderId,
    string Name,
    string? Path,
    string? MimeType,
    long Size,
    string? ChecksumSha256,
    long Version,
    VersionId? VersionId,
    DateTimeOffset CreatedAt,
    DateTimeOffset ModifiedAt,
    bool IsDeleted);

/// <summary>All children of a folder (every page fetched).</summary>
public sealed record FolderListing(string? Path, IReadOnlyList<FolderItem> Folders, IReadOnlyList<FileItem> Files);

public sealed record FileVersionInfo(VersionId Id, long VersionNumber, long Size, string? ChecksumSha256, string? CreatedBy, DateTimeOffset CreatedAt);

public sealed record VersionRestoreResult(FileId FileId, long RestoredFromVersion, long Version);

public sealed record QuotaInfo(long UsedBytes, long? QuotaBytes);

/// <summary>Body of <c>POST /uploads</c>. <see cref="ReplaceFileId"/> makes the upload a new version of that file.</summary>
public sealed record CreateUploadSessionRequest(
    ShareId ShareId,
    FolderId? FolderId,
    string FileName,
    long FileSize)
{
    public int ChunkSize { get; init; } = 4 * 1024 * 1024;
    public string? MimeType { get; init; }
    public string? ChecksumSha256 { get; init; }
    public FileId? ReplaceFileId { get; init; }
    public VersionId? BaseVersionId { get; init; }
    /// <summary>Optional per-chunk SHA-256 (hex) dedup hints; the server answers with the chunks it already has.</summary>
    public IReadOnlyList<string>? ChunkHashes { get; init; }
}

public sealed record UploadSession(
    UploadSessionId Id,
    ShareId ShareId,
    FolderId? FolderId,
    string FileName,
    long FileSize,
    int ChunkSize,
    int TotalChunks,
    DateTimeOffset ExpiresAt,
    string Status,
    IReadOnlyList<int> ReceivedChunks,
    IReadOnlyList<int> MissingChunks,
    IReadOnlyList<int> ExistingChunks,
    long BytesReceived,
    FileId? ReplaceFileId);

public sealed record ChunkReceipt(int Index, long Size, string Sha256, int ReceivedChunksCount);

/// <summary>Where the bytes of a resumable upload come from: random access, so chunks can be read in parallel and resent.</summary>
public interface IUploadSource
{
    long Length { get; }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; returns the bytes read (short only at the end).</summary>
    ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken);
}

public sealed record ResumableUploadOptions
{
    /// <summary>Chunks uploaded at once (4–8 is right for one server).</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>Resume this session instead of creating one: only its missing chunks are sent.</summary>
    public UploadSessionId? ExistingSessionId { get; init; }

    /// <summary>Called once the session exists (new or resumed), so a caller can journal its ID before chunks go out.</summary>
    public Func<UploadSession, CancellationToken, ValueTask>? OnSessionReady { get; init; }

    /// <summary>
    /// Send per-chunk SHA-256 dedup hints with a new session (one extra read of the source), so the server can skip
    /// chunks it already has. Null = only when the upload replaces a file (where most chunks usually are unchanged).
    /// </summary>
    public bool? SendChunkHashes { get; init; }
}

public enum ChangeType { Created, Updated, Deleted, Moved, Renamed, Unknown }

public enum ResourceType { File, Folder, Share, Unknown }

/// <summary>One change-feed entry. <see cref="Metadata"/> values are the server's, per §21.4 (size, checksum_sha256, version, folder_id, name …).</summary>
public sealed record ChangeEntry(
    string Id,
    ShareId ShareId,
    ResourceType ResourceType,
    string ResourceId,
    ChangeType ChangeType,
    string? ChangedBy,
    DateTimeOffset ChangedAt,
    string? OldPath,
    string? NewPath,
    string? VersionId,
    ChangeMetadata? Metadata,
    long Position);

public sealed record ChangeMetadata(
    long? Size,
    string? MimeType,
    string? ChecksumSha256,
    long? Version,
    string? FolderId,
    string? ParentId,
    string? Name);

public sealed record ChangeBatch(IReadOnlyList<ChangeEntry> Changes, ChangeCursor Cursor, bool HasMore);

public sealed record SyncStatus(ChangeCursor Cursor, DateTimeOffset? LastSyncAt, long PendingChanges, bool HasConflicts);

public sealed record DeviceRegistration(string DeviceId, string DeviceName, string Platform, string ClientVersion);

/// <summary>A frame from the sync WebSocket: a nudge to pull the feed (or a request for a full resync).</summary>
public sealed record SyncNudge(string EventType, ShareId? ShareId, ChangeEntry? Change);

public sealed record CreateLinkRequest(string ResourceType, string ResourceId, ShareId ShareId, string LinkType)
{
    public string? Password { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public int? MaxDownloads { get; init; }
}

public sealed record ExternalLink(LinkId Id, string Token, string? Url, string LinkType, string Status, bool PasswordRequired, DateTimeOffset? ExpiresAt);
