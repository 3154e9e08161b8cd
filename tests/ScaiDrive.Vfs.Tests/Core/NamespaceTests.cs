using System.Collections.Concurrent;
using System.Text;
using ScaiDrive.Client;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>Records what the core asks the kernel to forget.</summary>
internal sealed class RecordingNotifier : IKernelCacheNotifier
{
    public ConcurrentQueue<(ulong Inode, string? Name, bool Content)> Calls { get; } = new();

    public void InvalidateEntry(ulong parentInode, string name) => Calls.Enqueue((parentInode, name, false));

    public void InvalidateInode(ulong inode, bool content) => Calls.Enqueue((inode, null, content));
}

public sealed class NamespaceTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task<VfsErrorCode> CodeOf(Func<Task> action)
    {
        VfsException ex = await Assert.ThrowsAsync<VfsException>(action);
        return ex.Code;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), what);
    }

    [Fact]
    public async Task RootListsSharesByNameWithClashesMadeUnique()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(multiShareRoot: true);
        await h.Server.CreateShareAsync("Team", h.Server.OwnerUserId);
        await h.Server.CreateShareAsync("Team", h.Server.OwnerUserId);

        IReadOnlyList<VfsDirectoryEntry> root = await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode);
        string[] names = root.Select(e => e.Name).ToArray();

        Assert.Contains("Team", names);
        Assert.Contains("Team (2)", names);
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.All(root, e => Assert.Equal(VfsNodeKind.Directory, e.Attributes.Kind));

        // Files go into shares, not into the root.
        Assert.Equal(VfsErrorCode.AccessDenied, await CodeOf(() => h.Fs.CreateDirectoryAsync(VfsFileSystem.RootInode, "x").AsTask()));
        await h.Fs.WriteFileAsync("Team (2)/inside.txt", Bytes("in the second Team"));
        Assert.Equal(Bytes("in the second Team"), await h.Fs.ReadFileAsync("Team (2)/inside.txt"));
    }

    [Fact]
    public async Task InodesAreStableAcrossRemounts()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { AttributeTimeout = TimeSpan.FromMilliseconds(100) });
        ulong dir = await h.Fs.MkdirAsync("stable");
        ulong createdHere = await h.Fs.WriteFileAsync("stable/local-born.txt", Bytes("x"));
        FileItem remote = await h.Client.UploadSmallFileAsync(h.ShareId, await FsPaths.ServerFolderAsync(h.Client, h.ShareId, "stable"), "remote-born.txt", Bytes("y"));
        await Task.Delay(150); // The listing of "stable" is trusted for the attribute timeout.
        ulong remoteInode = await h.Fs.InodeOfAsync("stable/remote-born.txt");

        await h.RemountAsync();

        Assert.Equal(dir, await h.Fs.InodeOfAsync("stable"));
        Assert.Equal(createdHere, await h.Fs.InodeOfAsync("stable/local-born.txt"));
        Assert.Equal(remoteInode, await h.Fs.InodeOfAsync("stable/remote-born.txt"));
        Assert.Equal(remote.Id.Value, await h.Fs.XattrAsync("stable/remote-born.txt", "user.scaidrive.id"));
        Assert.NotEqual(VfsFileSystem.RootInode, remoteInode);
    }

    [Fact]
    public async Task ListingsAreCachedUntilTheTimeoutThenSeeRemoteChanges()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with
        {
            // Long enough that the two API calls below fit inside the window on a loaded machine (400 ms did not).
            AttributeTimeout = TimeSpan.FromMilliseconds(1500),
            NegativeEntryTimeout = TimeSpan.FromMilliseconds(1500),
        });
        var notifier = new RecordingNotifier();
        h.Fs.KernelNotifier = notifier;
        ulong dir = await h.Fs.MkdirAsync("cached");
        await h.Fs.WriteFileAsync("cached/doomed.txt", Bytes("soon deleted elsewhere"), fsync: true);
        Assert.Equal(VfsErrorCode.NotFound, await CodeOf(() => h.Fs.LookupAsync(dir, "later.txt").AsTask()));

        ScaiDriveClient other = h.OtherClient();
        FolderId? folder = await FsPaths.ServerFolderAsync(other, h.ShareId, "cached");
        await other.UploadSmallFileAsync(h.ShareId, folder, "later.txt", Bytes("made elsewhere"));
        FileItem doomed = (await FsPaths.ServerFileAsync(other, h.ShareId, "cached/doomed.txt"))!;
        await other.DeleteFileAsync(doomed.Id);

        // Within the timeouts the core answers from its caches (the negative entry and the listing).
        Assert.Equal(VfsErrorCode.NotFound, await CodeOf(() => h.Fs.LookupAsync(dir, "later.txt").AsTask()));
        Assert.Equal(["doomed.txt"], (await h.Fs.ReadDirectoryAsync(dir)).Select(e => e.Name));

        await Task.Delay(1600);

        Assert.Equal(["later.txt"], (await h.Fs.ReadDirectoryAsync(dir)).Select(e => e.Name));
        VfsEntry later = await h.Fs.LookupAsync(dir, "later.txt");
        Assert.Equal(Bytes("made elsewhere").Length, later.Attributes.Size);

        // The kernel is told to forget the name that vanished.
        await WaitUntilAsync(() => notifier.Calls.Contains((dir, "doomed.txt", false)), "entry invalidation for doomed.txt");
    }

    [Fact]
    public async Task NamesAreValidatedBeforeTheServerIsAsked()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        ulong root = VfsFileSystem.RootInode;

        Assert.Equal(VfsErrorCode.InvalidName, await CodeOf(() => h.Fs.CreateDirectoryAsync(root, "a\\b").AsTask()));
        Assert.Equal(VfsErrorCode.InvalidName, await CodeOf(() => h.Fs.CreateFileAsync(root, "..", 0x1A4, VfsOpenFlags.Write).AsTask()));
        Assert.Equal(VfsErrorCode.NameTooLong, await CodeOf(() => h.Fs.CreateDirectoryAsync(root, new string('é', 128)).AsTask()));
        await h.Fs.CreateDirectoryAsync(root, new string('é', 127));

        // Unique ignoring case, as the server keeps names; lookups stay exact.
        await h.Fs.WriteFileAsync("Readme.md", Bytes("r"));
        Assert.Equal(VfsErrorCode.AlreadyExists, await CodeOf(() => h.Fs.CreateFileAsync(root, "README.md", 0x1A4, VfsOpenFlags.Write).AsTask()));
        Assert.Equal(VfsErrorCode.NotFound, await CodeOf(() => h.Fs.LookupAsync(root, "README.md").AsTask()));
        Assert.Equal(await h.Fs.InodeOfAsync("Readme.md"), (await h.Fs.ResolvePathAsync("README.MD", ignoreCase: true)).Inode);
    }

    [Fact]
    public async Task RenameOverExistingFileKeepsItsIdAndAddsAVersion()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        await h.Fs.MkdirAsync("edit");
        await h.Fs.WriteFileAsync("edit/notes.txt", Bytes("first draft"), fsync: true);
        string fileId = (await h.Fs.XattrAsync("edit/notes.txt", "user.scaidrive.id"))!;

        // The editor's save: write a temp file, fsync it, rename it over the original.
        ulong tempInode = await h.Fs.WriteFileAsync("edit/.notes.txt.swp", Bytes("second draft, longer"), fsync: true);
        await h.Fs.RenameAsync(await h.Fs.InodeOfAsync("edit"), ".notes.txt.swp", await h.Fs.InodeOfAsync("edit"), "notes.txt");

        Assert.Equal(tempInode, await h.Fs.InodeOfAsync("edit/notes.txt"));
        Assert.Equal(Bytes("second draft, longer"), await h.Fs.ReadFileAsync("edit/notes.txt"));
        Assert.Equal(fileId, await h.Fs.XattrAsync("edit/notes.txt", "user.scaidrive.id"));
        await h.Fs.DrainAsync();

        FolderListing listing = await h.Client.ListChildrenAsync(h.ShareId, await FsPaths.ServerFolderAsync(h.Client, h.ShareId, "edit"));
        FileItem notes = Assert.Single(listing.Files);
        Assert.Equal(fileId, notes.Id.Value);
        Assert.Equal("notes.txt", notes.Name);
        IReadOnlyList<FileVersionInfo> versions = await h.Client.ListVersionsAsync(notes.Id);
        Assert.Equal(2, versions.Count);
        Assert.Equal(Bytes("second draft, longer"), await FsPaths.ServerContentAsync(h.Client, notes.Id));
        Assert.Equal(notes.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), await h.Fs.XattrAsync("edit/notes.txt", "user.scaidrive.version"));
        Assert.Equal(notes.ChecksumSha256, await h.Fs.XattrAsync("edit/notes.txt", "user.scaidrive.checksum_sha256"));
    }

    [Fact]
    public async Task RenameAcrossShares()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(multiShareRoot: true);
        string other = await h.Server.CreateShareAsync("Elsewhere", h.Server.OwnerUserId);
        IReadOnlyList<VfsDirectoryEntry> root = await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode);
        string mine = "";
        foreach (VfsDirectoryEntry entry in root)
        {
            byte[]? id = await h.Fs.GetExtendedAttributeAsync(entry.Attributes.Inode, "user.scaidrive.id");
            if (id is not null && Encoding.UTF8.GetString(id) == h.Server.DefaultShareId)
            {
                mine = entry.Name;
            }
        }

        Assert.NotEqual("", mine);
        await h.Fs.MkdirAsync($"{mine}/dir");
        await h.Fs.WriteFileAsync($"{mine}/dir/f.txt", Bytes("travels"), fsync: true);
        await h.Fs.WriteFileAsync($"{mine}/g.txt", Bytes("travels alone"), fsync: true);

        await h.Fs.RenameAsync(await h.Fs.InodeOfAsync(mine), "dir", await h.Fs.InodeOfAsync("Elsewhere"), "dir2");
        await h.Fs.RenameAsync(await h.Fs.InodeOfAsync(mine), "g.txt", await h.Fs.InodeOfAsync("Elsewhere/dir2"), "g2.txt");

        Assert.Equal(Bytes("travels"), await h.Fs.ReadFileAsync("Elsewhere/dir2/f.txt"));
        await h.Fs.DrainAsync();
        Dictionary<string, byte[]?> tree = await FsPaths.ServerTreeAsync(h.Client, new ShareId(other), string.Empty);
        Assert.Equal(Bytes("travels"), tree["dir2/f.txt"]);
        Assert.Equal(Bytes("travels alone"), tree["dir2/g2.txt"]);
    }

    [Fact]
    public async Task ViewerGetsAccessDeniedAndReadOnlyMountGetsReadOnly()
    {
        await using VfsHarness owner = await VfsHarness.StartAsync();
        await owner.Fs.WriteFileAsync("shared.txt", Bytes("readable"), fsync: true);
        TestSupport.TestUser viewer = await owner.Server.CreateUserAsync("viewer");
        await owner.Server.AddMemberAsync(owner.Server.DefaultShareId, viewer.UserId, "viewer");

        await using (VfsHarness v = await VfsHarness.StartAsync(server: owner.Server, token: viewer.Token))
        {
            ulong root = VfsFileSystem.RootInode;
            Assert.Equal(Bytes("readable"), await v.Fs.ReadFileAsync("shared.txt"));
            Assert.Equal(VfsErrorCode.AccessDenied, await CodeOf(() => v.Fs.CreateFileAsync(root, "new.txt", 0x1A4, VfsOpenFlags.Write).AsTask()));
            Assert.Equal(VfsErrorCode.AccessDenied, await CodeOf(() => v.Fs.CreateDirectoryAsync(root, "d").AsTask()));
            Assert.Equal(VfsErrorCode.AccessDenied, await CodeOf(async () => await v.Fs.OpenAsync(await v.Fs.InodeOfAsync("shared.txt"), VfsOpenFlags.Write)));
            Assert.Equal(VfsErrorCode.AccessDenied, await CodeOf(() => v.Fs.UnlinkAsync(root, "shared.txt").AsTask()));
            VfsAttributes attrs = await v.Fs.GetAttributesAsync(await v.Fs.InodeOfAsync("shared.txt"));
            Assert.Equal(0u, attrs.Mode & 0b010_010_010);
        }

        await using VfsHarness ro = await VfsHarness.StartAsync(o => o with { ReadOnly = true }, server: owner.Server);
        Assert.Equal(VfsErrorCode.ReadOnly, await CodeOf(() => ro.Fs.CreateFileAsync(VfsFileSystem.RootInode, "n.txt", 0x1A4, VfsOpenFlags.Write).AsTask()));
        Assert.Equal(VfsErrorCode.ReadOnly, await CodeOf(async () => await ro.Fs.OpenAsync(await ro.Fs.InodeOfAsync("shared.txt"), VfsOpenFlags.ReadWrite)));
        Assert.Equal(Bytes("readable"), await ro.Fs.ReadFileAsync("shared.txt"));
    }

    [Fact]
    public async Task FullQuotaFailsAtCreateAndAtGrowingWrites()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { AttributeTimeout = TimeSpan.FromMilliseconds(100) });
        await h.Fs.WriteFileAsync("existing.bin", new byte[1000], fsync: true);
        await h.Server.SetShareQuotaAsync(h.Server.DefaultShareId, 1500);
        await Task.Delay(150);

        ulong handle = await h.Fs.OpenAsync(await h.Fs.InodeOfAsync("existing.bin"), VfsOpenFlags.Write);
        try
        {
            Assert.Equal(10, await h.Fs.WriteAsync(handle, 0, new byte[10])); // Rewriting in place needs no space.
            Assert.Equal(VfsErrorCode.QuotaExceeded, await CodeOf(() => h.Fs.WriteAsync(handle, 1000, new byte[4096]).AsTask()));
        }
        finally
        {
            await h.Fs.FlushAsync(handle);
            await h.Fs.ReleaseAsync(handle);
        }

        await h.Server.SetShareQuotaAsync(h.Server.DefaultShareId, 500);
        await Task.Delay(150);
        Assert.Equal(VfsErrorCode.QuotaExceeded, await CodeOf(() => h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "more.txt", 0x1A4, VfsOpenFlags.Write).AsTask()));
        VfsStatFs statfs = await h.Fs.StatFsAsync(VfsFileSystem.RootInode);
        Assert.Equal(500, statfs.TotalBytes);
        Assert.Equal(0, statfs.FreeBytes);
    }

    [Fact]
    public async Task RmdirCountsFilesNotYetUploaded()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.FromSeconds(30) });
        ulong dir = await h.Fs.MkdirAsync("busy");
        await h.Fs.WriteFileAsync("busy/pending.txt", Bytes("not uploaded yet"));

        Assert.Equal(VfsErrorCode.NotEmpty, await CodeOf(() => h.Fs.RemoveDirectoryAsync(VfsFileSystem.RootInode, "busy").AsTask()));

        // Unlinking the pending file cancels its upload: nothing reaches the server.
        await h.Fs.UnlinkAsync(dir, "pending.txt");
        await h.Fs.RemoveDirectoryAsync(VfsFileSystem.RootInode, "busy");
        await h.Fs.DrainAsync();
        FolderListing root = await h.Client.ListChildrenAsync(h.ShareId, null);
        Assert.DoesNotContain(root.Folders, f => f.Name == "busy");
        Assert.Equal(0, h.Fs.GetStatus().PendingUploads);
    }
}
