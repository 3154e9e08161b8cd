using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client;

public sealed partial class ScaiDriveClient
{
    private const int ChildrenPageSize = 5000; // the most a page may hold (api §21): one round trip per 5,000 entries

    /// <summary>All children of a folder (<paramref name="folderId"/> null = share root), every page.</summary>
    public async Task<FolderListing> ListChildrenAsync(ShareId shareId, FolderId? folderId, bool includeDeleted = false, CancellationToken cancellationToken = default)
    {
        string folder = folderId is { } f ? Esc(f.Value) : "root";
        var folders = new List<FolderItem>();
        var files = new List<FileItem>();
        // Offset paging over a folder that changes meanwhile can repeat an item; keep the first.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? path = null;
        int offset = 0;
        while (true)
        {
            string relative = $"api/v1/folders/{folder}/children?share_id={Esc(shareId.Value)}&limit={ChildrenPageSize}&offset={offset}"
                + (includeDeleted ? "&include_deleted=true" : string.Empty);
            var page = await GetJsonAsync(relative, WireJsonContext.Default.ChildrenDto, cancellationToken).ConfigureAwait(false);
            path ??= page.Path;
            var items = page.Items ?? [];
            foreach (var item in items)
            {
                if (item.Id is null || !seen.Add(item.Id))
                {
                    continue;
                }

                if (item.IsFolder())
                {
                    folders.Add(item.ToFolder(shareId));
                }
                else
                {
                    files.Add(item.ToFile(shareId));
                }
            }

            offset += items.Count;
            if (items.Count == 0 || page.Total is not { } total || offset >= total)
            {
                return new FolderListing(path, folders, files);
            }
        }
    }

    public async Task<FolderItem> GetFolderAsync(FolderId folderId, CancellationToken cancellationToken = default) =>
        (await GetJsonAsync($"api/v1/folders/{Esc(folderId.Value)}", WireJsonContext.Default.ItemDto, cancellationToken).ConfigureAwait(false)).ToFolder();

    /// <summary>Creates a folder; after a lost response it looks for the folder by name before trying again.</summary>
    public Task<FolderItem> CreateFolderAsync(ShareId shareId, FolderId? parentId, string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var body = new MutationDto { ShareId = shareId.Value, ParentId = parentId?.Value, Name = name };
        return RunCreateAsync(
            "folder",
            async ct => (await SendJsonAsync(HttpMethod.Post, "api/v1/folders", body, WireJsonContext.Default.MutationDto, WireJsonContext.Default.ItemDto, ct)
                .ConfigureAwait(false)).ToFolder(shareId),
            async ct =>
            {
                var listing = await ListChildrenAsync(shareId, parentId, cancellationToken: ct).ConfigureAwait(false);
                return listing.Folders.FirstOrDefault(x => string.Equals(x.Name, name, StringComparison.Ordinal));
            },
            cancellationToken);
    }

    public Task<FolderItem> RenameFolderAsync(FolderId folderId, string newName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(newName);
        var body = new MutationDto { Name = newName };
        // Setting a name is idempotent: a repeat after a lost answer renames to the same name.
        return RunAsync(_pipelines.Metadata, async ct =>
            (await SendJsonAsync(HttpMethod.Patch, $"api/v1/folders/{Esc(folderId.Value)}", body, WireJsonContext.Default.MutationDto, WireJsonContext.Default.ItemDto, ct)
                .ConfigureAwait(false)).ToFolder(), cancellationToken);
    }

    /// <summary>Moves a folder under <paramref name="targetFolderId"/>, or to the root of <paramref name="targetShareId"/> when the folder is null.</summary>
    public Task<FolderItem> MoveFolderAsync(FolderId folderId, FolderId? targetFolderId, ShareId? targetShareId, CancellationToken cancellationToken = default)
    {
        var body = Target(targetFolderId, targetShareId, null);
        // "Be under X" is idempotent: a repeat finds the folder already there.
        return RunAsync(_pipelines.Metadata, async ct =>
            (await SendJsonAsync(HttpMethod.Post, $"api/v1/folders/{Esc(folderId.Value)}/move", body, WireJsonContext.Default.MutationDto, WireJsonContext.Default.ItemDto, ct)
                .ConfigureAwait(false)).ToFolder(), cancellationToken);
    }

    public Task DeleteFolderAsync(FolderId folderId, bool permanent = false, CancellationToken cancellationToken = default) =>
        DeleteByIdAsync($"api/v1/folders/{Esc(folderId.Value)}" + (permanent ? "?permanent=true" : string.Empty), cancellationToken);

    /// <summary>
    /// DELETE by ID, retried: when an earlier attempt was lost on the way back, the repeat finds the item already
    /// deleted (404) or in the trash (410), which is the outcome the caller asked for.
    /// </summary>
    private Task DeleteByIdAsync(string relative, CancellationToken cancellationToken)
    {
        bool maybeApplied = false;
        return RunAsync(_pipelines.Metadata, async ct =>
        {
            try
            {
                await SendNoContentAsync(HttpMethod.Delete, relative, ct).ConfigureAwait(false);
            }
            catch (ScaiDriveApiException ex) when (maybeApplied && ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
            {
            }
            catch (Exception ex) when (Resilience.Transience.IsAmbiguous(ex))
            {
                maybeApplied = true;
                throw;
            }
        }, cancellationToken);
    }

    private static MutationDto Target(FolderId? targetFolderId, ShareId? targetShareId, string? name)
    {
        if (targetFolderId is null && targetShareId is null)
        {
            throw new ArgumentException("A target folder or a target share is required.");
        }

        // The body sets exactly one of the two (§7.5); a folder implies its share.
        return new MutationDto
        {
            TargetFolderId = targetFolderId?.Value,
            TargetShareId = targetFolderId is null ? targetShareId?.Value : null,
            Name = name,
        };
    }
}
