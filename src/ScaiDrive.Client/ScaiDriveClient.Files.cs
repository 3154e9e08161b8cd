using System.Net.Http.Headers;
using System.Security.Cryptography;
using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client;

public sealed partial class ScaiDriveClient
{
    public async Task<FileItem> GetFileAsync(FileId fileId, CancellationToken cancellationToken = default) =>
        (await GetJsonAsync($"api/v1/files/{Esc(fileId.Value)}", WireJsonContext.Default.ItemDto, cancellationToken).ConfigureAwait(false)).ToFile();

    /// <summary>Multipart upload of a new file. Fails with NameConflict if the name is taken. Not retried blindly: on a lost response it checks whether the file arrived.</summary>
    public Task<FileItem> UploadSmallFileAsync(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        string? sha256 = null;
        return RunCreateAsync(
            "file",
            async ct =>
            {
                using var response = await SendAsync(() => MultipartRequest(shareId, folderId, name, content), HttpCompletionOption.ResponseHeadersRead, ct)
                    .ConfigureAwait(false);
                return (await ReadJsonAsync(response, WireJsonContext.Default.ItemDto, ct).ConfigureAwait(false)).ToFile(shareId);
            },
            async ct =>
            {
                // Ours only if the name holds exactly our bytes; anything else is someone else's file.
                sha256 ??= Hex(SHA256.HashData(content.Span));
                var listing = await ListChildrenAsync(shareId, folderId, cancellationToken: ct).ConfigureAwait(false);
                return listing.Files.FirstOrDefault(f =>
                    string.Equals(f.Name, name, StringComparison.Ordinal)
                    && f.Size == content.Length
                    && (f.ChecksumSha256 is null || string.Equals(f.ChecksumSha256, sha256, StringComparison.OrdinalIgnoreCase)));
            },
            cancellationToken);
    }

    private HttpRequestMessage MultipartRequest(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(shareId.Value), "share_id" },
            { new StringContent(name), "name" },
        };
        if (folderId is { } folder)
        {
            form.Add(new StringContent(folder.Value), "folder_id");
        }

        var file = new ReadOnlyMemoryContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", name);
        return new HttpRequestMessage(HttpMethod.Post, Url("api/v1/files")) { Content = form };
    }

    public Task<FileItem> RenameFileAsync(FileId fileId, string newName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(newName);
        return PatchFileAsync(fileId, new MutationDto { Name = newName }, cancellationToken);
    }

    public Task<FileItem> MoveFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName = null, CancellationToken cancellationToken = default)
    {
        var body = Target(targetFolderId, targetShareId, newName);
        // Moving to a place is idempotent: a repeat finds the file already there.
        return RunAsync(_pipelines.Metadata, async ct =>
            (await SendJsonAsync(HttpMethod.Post, $"api/v1/files/{Esc(fileId.Value)}/move", body, WireJsonContext.Default.MutationDto, WireJsonContext.Default.ItemDto, ct)
                .ConfigureAwait(false)).ToFile(), cancellationToken);
    }

    /// <summary>Copies a file; after a lost response it looks in the target for a file of that name with the source's content.</summary>
    public Task<FileItem> CopyFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName = null, CancellationToken cancellationToken = default)
    {
        var body = Target(targetFolderId, targetShareId, newName);
        return RunCreateAsync(
            "copy",
            async ct => (await SendJsonAsync(HttpMethod.Post, $"api/v1/files/{Esc(fileId.Value)}/copy", body, WireJsonContext.Default.MutationDto, WireJsonContext.Default.ItemDto, ct)
                .ConfigureAwait(false)).ToFile(),
            async ct =>
            {
                var source = await GetFileAsync(fileId, ct).ConfigureAwait(false);
                ShareId share = targetFolderId is { } tf ? (await GetFolderAsync(tf, ct).ConfigureAwait(false)).ShareId : targetShareId!.Value;
                var listing = await ListChildrenAsync(share, targetFolderId, cancellationToken: ct).ConfigureAwait(false);
                string name = newName ?? source.Name;
                return listing.Files.FirstOrDefault(f =>
                    f.Id != fileId
                    && string.Equals(f.Name, name, StringComparison.Ordinal)
                    && f.Size == source.Size
                    && string.Equals(f.ChecksumSha256, source.ChecksumSha256, StringComparison.OrdinalIgnoreCase));
            },
            cancellationToken);
    }

    public Task DeleteFileAsync(FileId fileId, bool permanent = false, CancellationToken cancellationToken = default) =>
        DeleteByIdAsync($"api/v1/files/{Esc(fileId.Value)}" + (permanent ? "?permanent=true" : string.Empty), cancellationToken);

    /// <summary>PATCH <c>{"is_deleted": false}</c> (§21.8); idempotent.</summary>
    public Task<FileItem> RestoreFileFromTrashAsync(FileId fileId, CancellationToken cancellationToken = default) =>
        PatchFileAsync(fileId, new MutationDto { IsDeleted = false }, cancellationToken);

    private Task<FileItem> PatchFileAsync(FileId fileId, MutationDto body, CancellationToken cancellationToken) =>
        RunAsync(_pipelines.Metadata, async ct =>
            (await SendJsonAsync(HttpMethod.Patch, $"api/v1/files/{Esc(fileId.Value)}", body, WireJsonContext.Default.MutationDto, WireJsonContext.Default.ItemDto, ct)
                .ConfigureAwait(false)).ToFile(), cancellationToken);

    public async Task<IReadOnlyList<FileVersionInfo>> ListVersionsAsync(FileId fileId, CancellationToken cancellationToken = default)
    {
        var dto = await GetJsonAsync($"api/v1/files/{Esc(fileId.Value)}/versions", WireJsonContext.Default.VersionListDto, cancellationToken).ConfigureAwait(false);
        return (dto.Versions ?? []).Select(v => v.ToModel()).ToArray();
    }

    /// <summary>
    /// Restores an old version as a new one. Not idempotent and not checkable (a repeat would add another version),
    /// so it is retried only when the server certainly did nothing.
    /// </summary>
    public Task<VersionRestoreResult> RestoreVersionAsync(FileId fileId, long version, CancellationToken cancellationToken = default) =>
        RunAsync(_pipelines.CreateUnchecked, async ct =>
        {
            using var response = await SendAsync(
                () => new HttpRequestMessage(HttpMethod.Post, Url($"api/v1/files/{Esc(fileId.Value)}/versions/{version}/restore")),
                HttpCompletionOption.ResponseHeadersRead,
                ct).ConfigureAwait(false);
            var dto = await ReadJsonAsync(response, WireJsonContext.Default.VersionRestoreDto, ct).ConfigureAwait(false);
            return new VersionRestoreResult(new FileId(dto.Id ?? fileId.Value), dto.RestoredFromVersion ?? version, dto.Version ?? 0);
        }, cancellationToken);
}
