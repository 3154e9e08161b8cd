namespace ScaiDrive.Client;

/// <summary>
/// The typed ScaiDrive API client: the one place where HTTP, retries and tokens live.
/// Thread-safe; one instance per server. Every method throws <see cref="ScaiDriveApiException"/> on failure
/// (after retries where the operation is safe to retry) or <see cref="OperationCanceledException"/>.
/// </summary>
public sealed partial class ScaiDriveClient : IDisposable
{
    public ScaiDriveClient(ScaiDriveClientOptions options) => throw new NotImplementedException();

    public void Dispose() => throw new NotImplementedException();

    // ---- identity and shares -------------------------------------------------------------------

    public Task<UserProfile> GetMeAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Every share the caller can reach, with its role and quota (all pages).</summary>
    public Task<IReadOnlyList<ShareInfo>> ListMySharesAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<ShareInfo> GetShareAsync(ShareId shareId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<QuotaInfo> GetMyQuotaAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- folders ---------------------------------------------------------------------------------

    /// <summary>All children of a folder (<paramref name="folderId"/> null = share root), every page.</summary>
    public Task<FolderListing> ListChildrenAsync(ShareId shareId, FolderId? folderId, bool includeDeleted = false, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FolderItem> GetFolderAsync(FolderId folderId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FolderItem> CreateFolderAsync(ShareId shareId, FolderId? parentId, string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FolderItem> RenameFolderAsync(FolderId folderId, string newName, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Moves a folder under <paramref name="targetFolderId"/>, or to the root of <paramref name="targetShareId"/> when the folder is null.</summary>
    public Task<FolderItem> MoveFolderAsync(FolderId folderId, FolderId? targetFolderId, ShareId? targetShareId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task DeleteFolderAsync(FolderId folderId, bool permanent = false, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- files -----------------------------------------------------------------------------------

    public Task<FileItem> GetFileAsync(FileId fileId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>
    /// Reads <c>destination.Length</c> bytes from <paramref name="offset"/> with one ranged GET (retried where it broke off),
    /// returning the bytes read (short only at end of file). When <paramref name="expectedETag"/> is given and the server's
    /// ETag differs, throws <see cref="ScaiDriveErrorKind.ContentChanged"/>.
    /// </summary>
    public Task<int> ReadRangeAsync(FileId fileId, long offset, Memory<byte> destination, long? version = null, string? expectedETag = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Streams the content from <paramref name="offset"/> (to the end when <paramref name="length"/> is null). Verifies Content-Range.</summary>
    public Task<Stream> OpenReadAsync(FileId fileId, long offset = 0, long? length = null, long? version = null, string? expectedETag = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Multipart upload of a new file. Fails with NameConflict if the name is taken. Not retried blindly: on a lost response it checks whether the file arrived.</summary>
    public Task<FileItem> UploadSmallFileAsync(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FileItem> RenameFileAsync(FileId fileId, string newName, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FileItem> MoveFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FileItem> CopyFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task DeleteFileAsync(FileId fileId, bool permanent = false, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FileItem> RestoreFileFromTrashAsync(FileId fileId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<IReadOnlyList<FileVersionInfo>> ListVersionsAsync(FileId fileId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<VersionRestoreResult> RestoreVersionAsync(FileId fileId, long version, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- resumable uploads -----------------------------------------------------------------------

    public Task<UploadSession> CreateUploadSessionAsync(CreateUploadSessionRequest request, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>PUTs one chunk with its SHA-256 in <c>X-Chunk-SHA256</c>. Idempotent, so retried.</summary>
    public Task<ChunkReceipt> PutChunkAsync(UploadSessionId sessionId, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<UploadSession> GetUploadSessionAsync(UploadSessionId sessionId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<FileItem> CompleteUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>
    /// Whole resumable upload: creates (or resumes) a session, sends the missing chunks in parallel with checksums, completes.
    /// <paramref name="progress"/> receives bytes confirmed by the server so far.
    /// </summary>
    public Task<FileItem> UploadResumableAsync(CreateUploadSessionRequest request, IUploadSource source, ResumableUploadOptions? options = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- change feed -----------------------------------------------------------------------------

    public Task RegisterDeviceAsync(DeviceRegistration device, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<SyncStatus> GetSyncStatusAsync(ShareId shareId, string deviceId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>One batch of changes after <paramref name="cursor"/> (null = from head). Gone (410 CURSOR_EXPIRED) means: rescan.</summary>
    public Task<ChangeBatch> GetChangesAsync(ShareId shareId, ChangeCursor? cursor, int limit = 1000, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task SetCursorAsync(ShareId shareId, string deviceId, ChangeCursor position, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>
    /// Connects the sync WebSocket of <paramref name="deviceId"/>, subscribes, and calls <paramref name="onNudge"/> for each
    /// change/force_sync frame until cancelled; reconnects with backoff when the socket drops.
    /// <paramref name="onConnectionChanged"/> is told when the socket goes up (true) or down (false), so a caller can poll meanwhile.
    /// </summary>
    public Task RunSyncSocketAsync(string deviceId, Func<SyncNudge, ValueTask> onNudge, Action<bool>? onConnectionChanged = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- external links --------------------------------------------------------------------------

    public Task<ExternalLink> CreateLinkAsync(CreateLinkRequest request, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task RevokeLinkAsync(LinkId linkId, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
