using System.Text;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Tests.Core;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Changes;

/// <summary>
/// The change follower against the real local server, with a second client as the colleague. Every cache TTL is an
/// hour, so anything the core learns after its first listing can only have come through the change feed.
/// </summary>
public sealed class ChangeFollowerTests
{
    private static readonly TimeSpan s_never = TimeSpan.FromHours(1);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task<(VfsHarness Harness, RecordingNotifier Kernel)> StartAsync(bool socket = true, TimeSpan? poll = null)
    {
        VfsHarness h = await VfsHarness.StartAsync(o => o with
        {
            FollowChanges = true,
            ListenForChangeNudges = socket,
            ChangePollInterval = poll ?? s_never,
            AttributeTimeout = s_never,
            EntryTimeout = s_never,
            NegativeEntryTimeout = s_never,
        });
        var kernel = new RecordingNotifier();
        h.Fs.KernelNotifier = kernel;
        await WaitReadyAsync(h, socket);
        return (h, kernel);
    }

    /// <summary>The follower holds a cursor (and, with the socket, is subscribed), so later commits are not missed.</summary>
    private static async Task WaitReadyAsync(VfsHarness h, bool socket)
    {
        var probe = new ChangeFollowerProbe(h.Fs);
        await WaitUntilAsync(() => probe.HasCursor(h.ShareId) && (!socket || probe.SocketConnected), "follower ready");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, int timeoutMs = 5000)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.ElapsedMilliseconds < timeoutMs, $"{what}: not within {timeoutMs} ms");
            await Task.Delay(10);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int timeoutMs = 5000)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.ElapsedMilliseconds < timeoutMs, $"{what}: not within {timeoutMs} ms");
            await Task.Delay(10);
        }
    }

    private static async Task<bool> ExistsAsync(VfsFileSystem fs, string path)
    {
        try
        {
            await fs.ResolvePathAsync(path);
            return true;
        }
        catch (VfsException ex) when (ex.Code == VfsErrorCode.NotFound)
        {
            return false;
        }
    }

    private static bool Saw(RecordingNotifier kernel, ulong inode, string? name, bool content = false) =>
        kernel.Calls.Any(c => c.Inode == inode && c.Name == name && (name is not null || c.Content == content));

    [Fact]
    public async Task CreatedFileAppearsInACachedListingAndItsNegativeEntryIsDropped()
    {
        (VfsHarness h, RecordingNotifier kernel) = await StartAsync();
        await using VfsHarness _ = h;
        await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode);
        Assert.False(await ExistsAsync(h.Fs, "new.txt")); // now a cached negative answer, for an hour

        await h.OtherClient().UploadSmallFileAsync(h.ShareId, null, "new.txt", Bytes("hello"));

        await WaitUntilAsync(() => ExistsAsync(h.Fs, "new.txt"), "created file visible");
        Assert.Equal(Bytes("hello"), await h.Fs.ReadFileAsync("new.txt"));
        await WaitUntilAsync(() => Saw(kernel, VfsFileSystem.RootInode, "new.txt"), "kernel entry invalidated");
        Assert.Contains("new.txt", (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).Select(e => e.Name));
    }

    [Fact]
    public async Task NewVersionDropsCachedContentAndTellsTheKernel()
    {
        (VfsHarness h, RecordingNotifier kernel) = await StartAsync();
        await using VfsHarness _ = h;
        ScaiDriveClient colleague = h.OtherClient();
        FileItem file = await colleague.UploadSmallFileAsync(h.ShareId, null, "doc.txt", Bytes("version one"));
        await WaitUntilAsync(() => ExistsAsync(h.Fs, "doc.txt"), "file visible");
        ulong inode = await h.Fs.InodeOfAsync("doc.txt");
        Assert.Equal(Bytes("version one"), await h.Fs.ReadFileAsync("doc.txt")); // now in the block cache

        byte[] two = Bytes("version two, longer");
        await colleague.UploadResumableAsync(
            new CreateUploadSessionRequest(h.ShareId, null, "doc.txt", two.Length) { ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
            new MemoryUploadSource(two));

        await WaitUntilAsync(() => Saw(kernel, inode, null, content: true), "kernel told to drop the pages");
        Assert.Equal(two.Length, (await h.Fs.GetAttributesAsync(inode)).Size);
        Assert.Equal(two, await h.Fs.ReadFileAsync("doc.txt"));
        Assert.Equal(inode, await h.Fs.InodeOfAsync("doc.txt"));
    }

    [Fact]
    public async Task FileRenameMoveAndDeleteAreReflected()
    {
        (VfsHarness h, RecordingNotifier kernel) = await StartAsync();
        await using VfsHarness _ = h;
        ScaiDriveClient colleague = h.OtherClient();
        FolderItem folder = await colleague.CreateFolderAsync(h.ShareId, null, "d");
        FileItem file = await colleague.UploadSmallFileAsync(h.ShareId, folder.Id, "a.txt", Bytes("a"));
        await WaitUntilAsync(() => ExistsAsync(h.Fs, "d/a.txt"), "file visible");
        ulong dir = await h.Fs.InodeOfAsync("d");
        ulong inode = await h.Fs.InodeOfAsync("d/a.txt");

        await colleague.RenameFileAsync(file.Id, "b.txt");
        await WaitUntilAsync(async () => await ExistsAsync(h.Fs, "d/b.txt") && !await ExistsAsync(h.Fs, "d/a.txt"), "rename");
        Assert.True(Saw(kernel, dir, "a.txt"));
        await WaitUntilAsync(() => Saw(kernel, dir, "b.txt"), "new name's entry invalidated");
        Assert.Equal(inode, await h.Fs.InodeOfAsync("d/b.txt"));

        await colleague.MoveFileAsync(file.Id, null, h.ShareId);
        await WaitUntilAsync(async () => await ExistsAsync(h.Fs, "b.txt") && !await ExistsAsync(h.Fs, "d/b.txt"), "move");
        await WaitUntilAsync(() => Saw(kernel, VfsFileSystem.RootInode, "b.txt"), "new parent's entry invalidated");

        await colleague.DeleteFileAsync(file.Id);
        await WaitUntilAsync(async () => !await ExistsAsync(h.Fs, "b.txt"), "delete");
        Assert.DoesNotContain("b.txt", (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).Select(e => e.Name));
    }

    [Fact]
    public async Task FolderRenameMoveAndDeleteCarryTheSubtree()
    {
        (VfsHarness h, RecordingNotifier kernel) = await StartAsync();
        await using VfsHarness _ = h;
        ScaiDriveClient colleague = h.OtherClient();
        FolderItem top = await colleague.CreateFolderAsync(h.ShareId, null, "top");
        FolderItem sub = await colleague.CreateFolderAsync(h.ShareId, top.Id, "sub");
        await colleague.UploadSmallFileAsync(h.ShareId, sub.Id, "f.txt", Bytes("deep"));
        await WaitUntilAsync(() => ExistsAsync(h.Fs, "top/sub/f.txt"), "tree visible");
        ulong fileInode = await h.Fs.InodeOfAsync("top/sub/f.txt");
        Assert.Equal(Bytes("deep"), await h.Fs.ReadFileAsync("top/sub/f.txt"));

        await colleague.RenameFolderAsync(top.Id, "top2");
        await WaitUntilAsync(async () => await ExistsAsync(h.Fs, "top2/sub/f.txt") && !await ExistsAsync(h.Fs, "top"), "folder rename");
        Assert.Equal(fileInode, await h.Fs.InodeOfAsync("top2/sub/f.txt"));
        Assert.True(Saw(kernel, VfsFileSystem.RootInode, "top"));

        await colleague.MoveFolderAsync(sub.Id, null, h.ShareId);
        await WaitUntilAsync(async () => await ExistsAsync(h.Fs, "sub/f.txt") && !await ExistsAsync(h.Fs, "top2/sub"), "folder move");
        Assert.Equal(Bytes("deep"), await h.Fs.ReadFileAsync("sub/f.txt"));

        await colleague.DeleteFolderAsync(sub.Id);
        await WaitUntilAsync(async () => !await ExistsAsync(h.Fs, "sub"), "folder delete");
        Assert.True(Saw(kernel, VfsFileSystem.RootInode, "sub"));
        // The descendants went with it: nothing of the subtree is left in the node table.
        VfsException gone = await Assert.ThrowsAsync<VfsException>(async () => await h.Fs.GetAttributesAsync(fileInode));
        Assert.Equal(VfsErrorCode.NotFound, gone.Code);
    }

    [Fact]
    public async Task AFolderMovedUnderItsFormerChildInOneBatchIsDeferredNotLooped()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync(socket: false);
        await using VfsHarness __ = h;
        var probe = new ChangeFollowerProbe(h.Fs);
        ScaiDriveClient colleague = h.OtherClient();
        FolderItem outer = await colleague.CreateFolderAsync(h.ShareId, null, "outer");
        FolderItem inner = await colleague.CreateFolderAsync(h.ShareId, outer.Id, "inner");
        await colleague.UploadSmallFileAsync(h.ShareId, inner.Id, "f.txt", Bytes("deep"));
        await probe.PullNowAsync();
        Assert.Equal(Bytes("deep"), await h.Fs.ReadFileAsync("outer/inner/f.txt"));

        // One batch: inner out to the root, outer into inner, inner renamed. Only each folder's last change is
        // applied, in feed order, so outer's move comes first, while inner is still under outer here: placing it
        // would make outer its own ancestor. It is deferred (its listings read again) instead.
        long deferred = h.Fs.ChangesDeferred;
        await colleague.MoveFolderAsync(inner.Id, null, h.ShareId);
        await colleague.MoveFolderAsync(outer.Id, inner.Id, null);
        await colleague.RenameFolderAsync(inner.Id, "inner2");
        await probe.PullNowAsync();

        Assert.True(h.Fs.ChangesDeferred > deferred, "the move into its own subtree was not deferred");
        await WaitUntilAsync(async () => await ExistsAsync(h.Fs, "inner2/outer") && !await ExistsAsync(h.Fs, "outer"), "the tree as the server has it");
        Assert.Equal(Bytes("deep"), await h.Fs.ReadFileAsync("inner2/f.txt"));
        Assert.Empty(await h.Fs.ReadDirectoryAsync(await h.Fs.InodeOfAsync("inner2/outer")));
    }

    [Fact]
    public async Task OwnChangesComingBackCostNothing()
    {
        (VfsHarness h, RecordingNotifier kernel) = await StartAsync();
        await using VfsHarness _ = h;
        await h.Fs.WriteFileAsync("mine.txt", Bytes("mine"));
        await h.Fs.MkdirAsync("mydir");
        await h.Fs.DrainAsync();
        ulong mydir = await h.Fs.InodeOfAsync("mydir");
        await h.Fs.RenameAsync(VfsFileSystem.RootInode, "mine.txt", mydir, "renamed.txt");
        await h.Fs.DrainAsync();
        ulong inode = await h.Fs.InodeOfAsync("mydir/renamed.txt");

        var probe = new ChangeFollowerProbe(h.Fs);
        ChangeCursor head = (await h.Client.GetChangesAsync(h.ShareId, null, 1)).Cursor;
        await WaitUntilAsync(() => probe.CursorOf(h.ShareId) == head, "follower caught up with the feed");

        // Ignored, or (when the feed was read while the rename was landing here) deferred to the server's listing;
        // never applied, which would move the node back through its old places. A batch keeps only each resource's
        // last change, so the file's create and move count once when they arrive together: at least one per resource.
        Assert.True(h.Fs.ChangesIgnored + h.Fs.ChangesDeferred >= 2, $"ignored {h.Fs.ChangesIgnored}, deferred {h.Fs.ChangesDeferred}");
        Assert.Equal(0, h.Fs.ChangesApplied);
        Assert.DoesNotContain(kernel.Calls, c => c.Inode == inode && c.Content);
        Assert.Equal(Bytes("mine"), await h.Fs.ReadFileAsync("mydir/renamed.txt"));
    }

    [Fact]
    public async Task CursorAndDeviceAreKeptAcrossRemountsAndResumed()
    {
        // No socket and no polling: the change below is seen only by the remounted follower resuming the stored cursor.
        (VfsHarness h, RecordingNotifier _) = await StartAsync(socket: false);
        await using VfsHarness __ = h;
        var probe = new ChangeFollowerProbe(h.Fs);
        string device = probe.DeviceId;
        ChangeCursor before = probe.CursorOf(h.ShareId)!.Value;
        Assert.True(File.Exists(Path.Combine(h.Options.CacheDirectory, "state", "cursors.json")));

        await h.OtherClient().UploadSmallFileAsync(h.ShareId, null, "while-away.txt", Bytes("x"));
        Assert.Equal(0, probe.ChangesSeen);
        await h.RemountAsync();

        var after = new ChangeFollowerProbe(h.Fs);
        Assert.Equal(device, after.DeviceId);
        await WaitUntilAsync(() => after.ChangesSeen >= 1, "the change made while unmounted was read from the stored cursor");
        Assert.NotEqual(before, after.CursorOf(h.ShareId));
        Assert.Equal(0, after.Rescans);
    }

    [Fact]
    public async Task ExpiredCursorRescansWhatIsCached()
    {
        (VfsHarness h, RecordingNotifier kernel) = await StartAsync(socket: false);
        await using VfsHarness _ = h;
        ScaiDriveClient colleague = h.OtherClient();
        FileItem old = await colleague.UploadSmallFileAsync(h.ShareId, null, "old.txt", Bytes("old"));
        var probe = new ChangeFollowerProbe(h.Fs);
        await probe.PullNowAsync();
        Assert.Equal(Bytes("old"), await h.Fs.ReadFileAsync("old.txt"));
        Assert.False(await ExistsAsync(h.Fs, "late.txt"));

        await colleague.UploadSmallFileAsync(h.ShareId, null, "late.txt", Bytes("late"));
        await colleague.RenameFileAsync(old.Id, "older.txt");
        await h.Server.CompactChangesAsync();
        await probe.PullNowAsync();

        Assert.Equal(1, probe.Rescans);
        string[] names = (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).Select(e => e.Name).ToArray();
        Assert.Contains("late.txt", names);
        Assert.Contains("older.txt", names);
        Assert.DoesNotContain("old.txt", names);
        Assert.True(Saw(kernel, VfsFileSystem.RootInode, "old.txt"));
    }

    /// <summary>
    /// An expired cursor is not a cold start: the rescan re-reads listings, while content cached before it stays
    /// cached (read here with every server request failing) and following resumes at the head of the feed.
    /// </summary>
    [Fact]
    public async Task ExpiredCursorRescanKeepsCachedContentAndResumesAtTheHead()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync(socket: false);
        await using VfsHarness __ = h;
        ScaiDriveClient colleague = h.OtherClient();
        byte[] content = Bytes(new string('k', 100_000));
        await colleague.UploadSmallFileAsync(h.ShareId, null, "kept.txt", content);
        var probe = new ChangeFollowerProbe(h.Fs);
        await probe.PullNowAsync();
        ulong inode = await h.Fs.InodeOfAsync("kept.txt");
        ulong handle = await h.Fs.OpenAsync(inode, VfsOpenFlags.Read);
        try
        {
            Assert.Equal(content, await h.Fs.ReadAllAsync(handle)); // now in the block cache

            await colleague.UploadSmallFileAsync(h.ShareId, null, "other.txt", Bytes("x"));
            await h.Server.CompactChangesAsync();
            await probe.PullNowAsync();
            Assert.Equal(1, probe.Rescans);
            Assert.Contains("other.txt", (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).Select(e => e.Name));
            Assert.Equal((await h.Client.GetChangesAsync(h.ShareId, null, 1)).Cursor, probe.CursorOf(h.ShareId));

            await h.Server.SetFaultsAsync(errorRate: 1);
            try
            {
                Assert.Equal(content, await h.Fs.ReadAllAsync(handle));
            }
            finally
            {
                await h.Server.SetFaultsAsync();
            }

            // Following goes on from the head: a later change is read as a change, without another rescan.
            await colleague.UploadSmallFileAsync(h.ShareId, null, "later.txt", Bytes("l"));
            await probe.PullNowAsync();
            Assert.Equal(1, probe.Rescans);
            Assert.Contains("later.txt", (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).Select(e => e.Name));
        }
        finally
        {
            await h.Fs.ReleaseAsync(handle);
        }
    }

    [Fact]
    public async Task WithoutTheSocketTheFeedIsPolled()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync(socket: false, poll: TimeSpan.FromMilliseconds(200));
        await using VfsHarness __ = h;
        await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode);
        await h.OtherClient().UploadSmallFileAsync(h.ShareId, null, "polled.txt", Bytes("p"));

        await WaitUntilAsync(() => ExistsAsync(h.Fs, "polled.txt"), "polled change visible", timeoutMs: 3000);
        Assert.False(new ChangeFollowerProbe(h.Fs).SocketConnected);
    }

    [Fact]
    public async Task SlowPullsDoNotStretchThePollInterval()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync(socket: false, poll: TimeSpan.FromSeconds(1));
        await using VfsHarness __ = h;
        var probe = new ChangeFollowerProbe(h.Fs);
        await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode);
        // Every request now takes 600 ms more. A poll that waited its interval after the previous pull ended would come
        // every 1.6 s or later; polls at a fixed rate come every second (or, when a loaded machine makes the request
        // itself take longer than the interval, a tenth of the interval after it). The mean period between finished
        // pulls, over several, separates the two with margin either side: a count in a fixed window did not.
        await h.Server.SetFaultsAsync(latencyMs: 600);
        try
        {
            var finished = new List<TimeSpan>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long seen = probe.Pulls;
            while (finished.Count < 6 && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
                long now = probe.Pulls;
                if (now != seen)
                {
                    seen = now;
                    finished.Add(clock.Elapsed);
                }
            }

            Assert.True(finished.Count == 6, $"only {finished.Count} pulls in 20 s with a 1 s poll interval");
            double period = (finished[^1] - finished[0]).TotalSeconds / (finished.Count - 1);
            Assert.True(period < 1.4, $"pulls every {period:F2} s with a 1 s poll interval and 600 ms per request");
        }
        finally
        {
            await h.Server.SetFaultsAsync();
        }
    }

    [Fact]
    public async Task ABurstOfNudgesCoalescesIntoFewPulls()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync();
        await using VfsHarness __ = h;
        var probe = new ChangeFollowerProbe(h.Fs);
        await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode);
        long pullsBefore = probe.Pulls;
        ScaiDriveClient colleague = h.OtherClient();
        const int Count = 20;
        await Task.WhenAll(Enumerable.Range(0, Count).Select(i => colleague.UploadSmallFileAsync(h.ShareId, null, $"burst-{i}.txt", Bytes("b"))));

        await WaitUntilAsync(
            async () => (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).Count(e => e.Name.StartsWith("burst-", StringComparison.Ordinal)) == Count,
            "all created files visible");
        Assert.True(probe.Pulls - pullsBefore < Count, $"{probe.Pulls - pullsBefore} pulls for {Count} nudges");
    }

    [Fact]
    public async Task AnOpenFileDeletedRemotelyStillReadsItsCachedData()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync();
        await using VfsHarness __ = h;
        FileItem file = await h.OtherClient().UploadSmallFileAsync(h.ShareId, null, "open.txt", Bytes("still here"));
        await WaitUntilAsync(() => ExistsAsync(h.Fs, "open.txt"), "file visible");
        ulong inode = await h.Fs.InodeOfAsync("open.txt");
        ulong handle = await h.Fs.OpenAsync(inode, VfsOpenFlags.Read);
        try
        {
            Assert.Equal(Bytes("still here"), await h.Fs.ReadAllAsync(handle));
            await h.OtherClient().DeleteFileAsync(file.Id);
            await WaitUntilAsync(async () => !await ExistsAsync(h.Fs, "open.txt"), "delete visible");

            Assert.Equal(Bytes("still here"), await h.Fs.ReadAllAsync(handle));
        }
        finally
        {
            await h.Fs.ReleaseAsync(handle);
        }
    }

    /// <summary>
    /// The other half of SEMANTICS.md's "deleted while open": what was read before the delete keeps being served; a part
    /// never fetched cannot be, since the server no longer serves the content (ENOENT).
    /// </summary>
    [Fact]
    public async Task AnOpenFileDeletedRemotelyFailsOnlyForPartsNeverFetched()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync();
        await using VfsHarness __ = h;
        const int Size = 48 * 1024 * 1024;
        byte[] content = new byte[Size];
        new Random(6).NextBytes(content);
        FileItem file = await h.OtherClient().UploadResumableAsync(new CreateUploadSessionRequest(h.ShareId, null, "big.bin", Size), new MemoryUploadSource(content));
        await WaitUntilAsync(() => ExistsAsync(h.Fs, "big.bin"), "file visible");
        ulong handle = await h.Fs.OpenAsync(await h.Fs.InodeOfAsync("big.bin"), VfsOpenFlags.Read);
        try
        {
            byte[] head = new byte[4096];
            Assert.Equal(head.Length, await h.Fs.ReadAsync(handle, 0, head));
            Assert.Equal(content[..head.Length], head);

            await h.OtherClient().DeleteFileAsync(file.Id);
            await WaitUntilAsync(async () => !await ExistsAsync(h.Fs, "big.bin"), "delete visible");

            Array.Clear(head);
            Assert.Equal(head.Length, await h.Fs.ReadAsync(handle, 0, head));
            Assert.Equal(content[..head.Length], head);
            VfsException unfetched = await Assert.ThrowsAsync<VfsException>(async () => await h.Fs.ReadAsync(handle, 40L * 1024 * 1024, new byte[4096]));
            Assert.Equal(VfsErrorCode.NotFound, unfetched.Code);
        }
        finally
        {
            await h.Fs.ReleaseAsync(handle);
        }
    }

    [Fact]
    public async Task ConflictShowsTheServersVersionAndTheConflictCopy()
    {
        (VfsHarness h, RecordingNotifier _) = await StartAsync();
        await using VfsHarness __ = h;
        ScaiDriveClient colleague = h.OtherClient();
        FileItem file = await colleague.UploadSmallFileAsync(h.ShareId, null, "both.txt", Bytes("base"));
        await WaitUntilAsync(() => ExistsAsync(h.Fs, "both.txt"), "file visible");
        ulong inode = await h.Fs.InodeOfAsync("both.txt");

        // A local edit still open (so not uploaded) when a new version lands on the server.
        ulong handle = await h.Fs.OpenAsync(inode, VfsOpenFlags.Write | VfsOpenFlags.Truncate);
        await FsPaths.WriteAllAsync(h.Fs, handle, 0, Bytes("local edit"));
        byte[] remote = Bytes("remote edit");
        await colleague.UploadResumableAsync(
            new CreateUploadSessionRequest(h.ShareId, null, "both.txt", remote.Length) { ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
            new MemoryUploadSource(remote));
        await h.Fs.FlushAsync(handle);
        await h.Fs.ReleaseAsync(handle);
        await h.Fs.DrainAsync();

        // The node shows the server's version; the local content is beside it as a conflict copy.
        await WaitUntilAsync(async () => (await h.Fs.ReadFileAsync("both.txt")).SequenceEqual(remote), "server's version shown");
        await WaitUntilAsync(
            async () => (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).Any(e => e.Name.StartsWith("both (conflict ", StringComparison.Ordinal)),
            "conflict copy listed");
        string copy = (await h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode)).First(e => e.Name.StartsWith("both (conflict ", StringComparison.Ordinal)).Name;
        Assert.Equal(Bytes("local edit"), await h.Fs.ReadFileAsync(copy));
    }
}

/// <summary>Reads the follower's state through the core's internals.</summary>
internal sealed class ChangeFollowerProbe(VfsFileSystem fs)
{
    private global::ScaiDrive.Vfs.Changes.ChangeFollower Follower => fs.Follower ?? throw new InvalidOperationException("not following");

    public bool SocketConnected => Follower.SocketConnected;

    public string DeviceId => Follower.DeviceId;

    public long ChangesSeen => Follower.ChangesSeen;

    public long Rescans => Follower.Rescans;

    public long Pulls => Follower.Pulls;

    public bool HasCursor(ShareId share) => CursorOf(share) is not null;

    public ChangeCursor? CursorOf(ShareId share) => Follower.CursorOf(share);

    public Task PullNowAsync() => Follower.PullNowAsync(CancellationToken.None);
}
