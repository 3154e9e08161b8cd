using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>Path-level helpers over the inode API, doing what a program's system calls would.</summary>
internal static class FsPaths
{
    private const uint FileMode = 0b110_100_100;
    private const int ChunkBytes = 128 * 1024;

    public static (string Parent, string Name) Split(string path)
    {
        path = path.Trim('/');
        int slash = path.LastIndexOf('/');
        return slash < 0 ? (string.Empty, path) : (path[..slash], path[(slash + 1)..]);
    }

    public static async Task<ulong> InodeOfAsync(this VfsFileSystem fs, string path) => (await fs.ResolvePathAsync(path)).Inode;

    public static async Task<ulong> ParentInodeAsync(this VfsFileSystem fs, string path) => await fs.InodeOfAsync(Split(path).Parent);

    /// <summary>create(O_TRUNC), write, close — and fsync before close when <paramref name="fsync"/>.</summary>
    public static async Task<ulong> WriteFileAsync(this VfsFileSystem fs, string path, ReadOnlyMemory<byte> content, bool fsync = false)
    {
        (string _, string name) = Split(path);
        ulong parent = await fs.ParentInodeAsync(path);
        (VfsEntry entry, ulong handle) = await fs.CreateFileAsync(parent, name, FileMode, VfsOpenFlags.Write | VfsOpenFlags.Truncate);
        try
        {
            await WriteAllAsync(fs, handle, 0, content);
            if (fsync)
            {
                await fs.FsyncAsync(handle);
            }

            await fs.FlushAsync(handle);
        }
        finally
        {
            await fs.ReleaseAsync(handle);
            fs.Forget(entry.Inode, 1);
        }

        return entry.Inode;
    }

    public static async Task WriteAllAsync(VfsFileSystem fs, ulong handle, long offset, ReadOnlyMemory<byte> content)
    {
        for (int done = 0; done < content.Length;)
        {
            int n = Math.Min(ChunkBytes, content.Length - done);
            int written = await fs.WriteAsync(handle, offset + done, content.Slice(done, n));
            if (written <= 0)
            {
                throw new InvalidOperationException("write made no progress");
            }

            done += written;
        }
    }

    /// <summary>open(flags) an existing file, write at offset, close.</summary>
    public static async Task WriteAtAsync(this VfsFileSystem fs, string path, long offset, ReadOnlyMemory<byte> data, VfsOpenFlags flags = VfsOpenFlags.Write)
    {
        ulong inode = await fs.InodeOfAsync(path);
        ulong handle = await fs.OpenAsync(inode, flags);
        try
        {
            await WriteAllAsync(fs, handle, offset, data);
            await fs.FlushAsync(handle);
        }
        finally
        {
            await fs.ReleaseAsync(handle);
        }
    }

    public static async Task<byte[]> ReadAllAsync(this VfsFileSystem fs, ulong handle)
    {
        var output = new MemoryStream();
        byte[] buffer = new byte[ChunkBytes];
        while (true)
        {
            int read = await fs.ReadAsync(handle, output.Length, buffer);
            if (read == 0)
            {
                return output.ToArray();
            }

            output.Write(buffer, 0, read);
        }
    }

    public static async Task<byte[]> ReadFileAsync(this VfsFileSystem fs, string path)
    {
        ulong handle = await fs.OpenAsync(await fs.InodeOfAsync(path), VfsOpenFlags.Read);
        try
        {
            return await fs.ReadAllAsync(handle);
        }
        finally
        {
            await fs.ReleaseAsync(handle);
        }
    }

    public static async Task<ulong> MkdirAsync(this VfsFileSystem fs, string path)
    {
        VfsEntry entry = await fs.CreateDirectoryAsync(await fs.ParentInodeAsync(path), Split(path).Name);
        fs.Forget(entry.Inode, 1);
        return entry.Inode;
    }

    public static async Task<string?> XattrAsync(this VfsFileSystem fs, string path, string name)
    {
        byte[]? value = await fs.GetExtendedAttributeAsync(await fs.InodeOfAsync(path), name);
        return value is null ? null : System.Text.Encoding.UTF8.GetString(value);
    }

    /// <summary>Walks the server through the API (not through the core) from the share root.</summary>
    public static async Task<FolderId?> ServerFolderAsync(ScaiDriveClient client, ShareId share, string directory)
    {
        FolderId? folder = null;
        foreach (string segment in directory.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            FolderListing listing = await client.ListChildrenAsync(share, folder);
            folder = listing.Folders.SingleOrDefault(f => f.Name == segment)?.Id
                ?? throw new InvalidOperationException($"server has no folder '{segment}' in '{directory}'");
        }

        return folder;
    }

    public static async Task<FileItem?> ServerFileAsync(ScaiDriveClient client, ShareId share, string path)
    {
        (string parent, string name) = Split(path);
        FolderId? folder = await ServerFolderAsync(client, share, parent);
        FolderListing listing = await client.ListChildrenAsync(share, folder);
        return listing.Files.SingleOrDefault(f => f.Name == name);
    }

    public static async Task<byte[]> ServerContentAsync(ScaiDriveClient client, FileId file)
    {
        await using Stream stream = await client.OpenReadAsync(file);
        var output = new MemoryStream();
        await stream.CopyToAsync(output);
        return output.ToArray();
    }

    /// <summary>Every path under <paramref name="directory"/> on the server: relative path → content (null for folders).</summary>
    public static async Task<Dictionary<string, byte[]?>> ServerTreeAsync(ScaiDriveClient client, ShareId share, string directory)
    {
        var tree = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        FolderId? root = await ServerFolderAsync(client, share, directory);
        await WalkAsync(root, string.Empty);
        return tree;

        async Task WalkAsync(FolderId? folder, string prefix)
        {
            FolderListing listing = await client.ListChildrenAsync(share, folder);
            foreach (FileItem file in listing.Files)
            {
                tree[prefix + file.Name] = await ServerContentAsync(client, file.Id);
            }

            foreach (FolderItem sub in listing.Folders)
            {
                tree[prefix + sub.Name] = null;
                await WalkAsync(sub.Id, prefix + sub.Name + "/");
            }
        }
    }
}
