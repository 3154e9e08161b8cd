using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// The few API calls the upload queue makes. Production uses <see cref="ClientUploadTransport"/> over the real
/// client; tests may substitute a scripted one to pin down timing (a call that hangs until released) that a real
/// server cannot be asked for.
/// </summary>
internal interface IUploadTransport
{
    Task<FileItem> UploadSmallFileAsync(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    Task<FileItem> UploadResumableAsync(CreateUploadSessionRequest request, IUploadSource source, ResumableUploadOptions options, IProgress<long>? progress, CancellationToken cancellationToken);

    Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken);

    Task<FileItem> GetFileAsync(FileId fileId, CancellationToken cancellationToken);

    Task<FolderListing> ListChildrenAsync(ShareId shareId, FolderId? folderId, CancellationToken cancellationToken);

    Task<FileItem> MoveFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName, CancellationToken cancellationToken);

    Task DeleteFileAsync(FileId fileId, CancellationToken cancellationToken);
}

internal sealed class ClientUploadTransport(ScaiDriveClient client) : IUploadTransport, IEarlySendTransport
{
    public bool ResizeMaybeSupported => client.UploadResizeMaybeSupported;

    public Task<UploadSession> CreateUploadSessionAsync(CreateUploadSessionRequest request, CancellationToken cancellationToken) =>
        client.CreateUploadSessionAsync(request, cancellationToken);

    public Task PutChunkAsync(UploadSessionId sessionId, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        client.PutChunkAsync(sessionId, index, data, cancellationToken);

    public Task<UploadResizeResult> ResizeUploadSessionAsync(UploadSessionId sessionId, long newSize, string? checksumSha256, CancellationToken cancellationToken) =>
        client.ResizeUploadSessionAsync(sessionId, newSize, checksumSha256, cancellationToken);

    public Task<FileItem> UploadSmallFileAsync(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        client.UploadSmallFileAsync(shareId, folderId, name, content, cancellationToken);

    public Task<FileItem> UploadResumableAsync(CreateUploadSessionRequest request, IUploadSource source, ResumableUploadOptions options, IProgress<long>? progress, CancellationToken cancellationToken) =>
        client.UploadResumableAsync(request, source, options, progress, cancellationToken);

    public Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken) =>
        client.AbortUploadAsync(sessionId, cancellationToken);

    public Task<FileItem> GetFileAsync(FileId fileId, CancellationToken cancellationToken) =>
        client.GetFileAsync(fileId, cancellationToken);

    public Task<FolderListing> ListChildrenAsync(ShareId shareId, FolderId? folderId, CancellationToken cancellationToken) =>
        client.ListChildrenAsync(shareId, folderId, includeDeleted: false, cancellationToken);

    public Task<FileItem> MoveFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName, CancellationToken cancellationToken) =>
        client.MoveFileAsync(fileId, targetFolderId, targetShareId, newName, cancellationToken);

    public Task DeleteFileAsync(FileId fileId, CancellationToken cancellationToken) =>
        client.DeleteFileAsync(fileId, permanent: false, cancellationToken);
}
