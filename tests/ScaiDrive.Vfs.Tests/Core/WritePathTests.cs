using System.Text;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>The write path through the façade: staging, read-your-writes, durability, overlay, recovery.</summary>
public sealed class WritePathTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task ReadsAndStatSeeWritesBeforeClose()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        await h.Fs.WriteFileAsync("ryw.txt", Bytes("0123456789"), fsync: true);
        ulong inode = await h.Fs.InodeOfAsync("ryw.txt");

        ulong writer = await h.Fs.OpenAsync(inode, VfsOpenFlags.ReadWrite);
        ulong reader = await h.Fs.OpenAsync(inode, VfsOpenFlags.Read);
        try
        {
            await h.Fs.WriteAsync(writer, 5, Bytes("ABCDEFGH"));

            Assert.Equal(Bytes("01234ABCDEFGH"), await h.Fs.ReadAllAsync(reader));
            VfsAttributes attrs = await h.Fs.GetAttributesAsync(inode);
            Assert.Equal(13, attrs.Size);
            Assert.True(attrs.ModifiedAt > DateTimeOffset.UtcNow.AddMinutes(-1));

            // Nothing reached the server before close.
            FileItem onServer = (await FsPaths.ServerFileAsync(h.Client, h.ShareId, "ryw.txt"))!;
            Assert.Equal(10, onServer.Size);
        }
        finally
        {
            await h.Fs.FlushAsync(writer);
            await h.Fs.ReleaseAsync(writer);
            await h.Fs.ReleaseAsync(reader);
        }

        await h.Fs.DrainAsync();
        FileItem after = (await FsPaths.ServerFileAsync(h.Client, h.ShareId, "ryw.txt"))!;
        Assert.Equal(Bytes("01234ABCDEFGH"), await FsPaths.ServerContentAsync(h.Client, after.Id));
        Assert.Equal(2, after.Version);
    }

    [Fact]
    public async Task FsyncPutsContentOnTheServerBeforeReturning()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.FromMinutes(5) });
        (VfsEntry entry, ulong handle) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "durable.bin", 0x1A4, VfsOpenFlags.Write);
        byte[] content = new byte[300_000];
        new Random(3).NextBytes(content);
        await FsPaths.WriteAllAsync(h.Fs, handle, 0, content);
        await h.Fs.FsyncAsync(handle);

        FileItem? onServer = await FsPaths.ServerFileAsync(h.Client, h.ShareId, "durable.bin");
        Assert.NotNull(onServer);
        Assert.Equal(content, await FsPaths.ServerContentAsync(h.Client, onServer.Id));
        Assert.Equal(onServer.Id.Value, await h.Fs.XattrAsync("durable.bin", "user.scaidrive.id"));

        await h.Fs.FlushAsync(handle);
        await h.Fs.ReleaseAsync(handle);
        h.Fs.Forget(entry.Inode, 1);
    }

    [Fact]
    public async Task CloseIsDurableLocallyAndARemountFinishesTheUpload()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.FromMinutes(5) });
        await h.Fs.MkdirAsync("journal");
        await h.Fs.WriteFileAsync("journal/survivor.txt", Bytes("closed but not uploaded"));
        Assert.Equal(1, h.Fs.GetStatus().PendingUploads);

        // Like kill -9: no drain. The journal and the staged file are all that is left.
        await h.RemountAsync(drain: false);

        Assert.Equal(Bytes("closed but not uploaded"), await h.Fs.ReadFileAsync("journal/survivor.txt"));
        await h.Fs.DrainAsync();
        FileItem? onServer = await FsPaths.ServerFileAsync(h.Client, h.ShareId, "journal/survivor.txt");
        Assert.NotNull(onServer);
        Assert.Equal(Bytes("closed but not uploaded"), await FsPaths.ServerContentAsync(h.Client, onServer.Id));
        Assert.Equal(0, h.Fs.GetStatus().PendingUploads);
    }

    [Fact]
    public async Task ModeAndMtimeStayAcrossRemountsUntilANewVersionArrivesElsewhere()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { AttributeTimeout = TimeSpan.FromMilliseconds(100) });
        await h.Fs.WriteFileAsync("kept.txt", Bytes("rsync me"), fsync: true);
        ulong inode = await h.Fs.InodeOfAsync("kept.txt");
        var mtime = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        await h.Fs.SetAttributesAsync(inode, new VfsSetAttributes { ModifiedAt = mtime, Mode = 0b111_101_000 });

        await h.RemountAsync();
        VfsAttributes remounted = await h.Fs.GetAttributesAsync(await h.Fs.InodeOfAsync("kept.txt"));
        Assert.Equal(mtime, remounted.ModifiedAt);
        Assert.Equal(0b111_101_000u, remounted.Mode);

        // A new version made elsewhere has other content: its mtime is the server's again.
        FileItem file = (await FsPaths.ServerFileAsync(h.Client, h.ShareId, "kept.txt"))!;
        byte[] newer = Bytes("changed by a colleague");
        await h.OtherClient().UploadResumableAsync(
            new CreateUploadSessionRequest(h.ShareId, null, "kept.txt", newer.Length) { ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
            new MemoryUploadSource(newer));
        await Task.Delay(150);

        VfsAttributes changed = await h.Fs.GetAttributesAsync(await h.Fs.InodeOfAsync("kept.txt"));
        Assert.NotEqual(mtime, changed.ModifiedAt);
        Assert.Equal(newer.Length, changed.Size);
        Assert.Equal(newer, await h.Fs.ReadFileAsync("kept.txt"));
    }

    [Fact]
    public async Task WrittenFilesKeepTheMtimeOfTheirLastWriteAfterUpload()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { AttributeTimeout = TimeSpan.FromMilliseconds(50) });
        var mtime = new DateTimeOffset(2010, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await h.Fs.WriteFileAsync("tarred.txt", Bytes("from a tarball"));
        // tar sets the mtime after close, before the upload ran.
        await h.Fs.SetAttributesAsync(await h.Fs.InodeOfAsync("tarred.txt"), new VfsSetAttributes { ModifiedAt = mtime });
        await h.Fs.DrainAsync();
        await Task.Delay(100);

        Assert.Equal(mtime, (await h.Fs.GetAttributesAsync(await h.Fs.InodeOfAsync("tarred.txt"))).ModifiedAt);
        await h.RemountAsync();
        Assert.Equal(mtime, (await h.Fs.GetAttributesAsync(await h.Fs.InodeOfAsync("tarred.txt"))).ModifiedAt);
    }

    [Fact]
    public async Task OpenTruncateAndTruncateByPathReachTheServer()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        await h.Fs.WriteFileAsync("t.txt", Bytes("some content here"), fsync: true);
        ulong inode = await h.Fs.InodeOfAsync("t.txt");

        await h.Fs.SetAttributesAsync(inode, new VfsSetAttributes { Size = 4 });
        Assert.Equal(Bytes("some"), await h.Fs.ReadFileAsync("t.txt"));
        await h.Fs.DrainAsync();
        FileItem file = (await FsPaths.ServerFileAsync(h.Client, h.ShareId, "t.txt"))!;
        Assert.Equal(Bytes("some"), await FsPaths.ServerContentAsync(h.Client, file.Id));

        ulong handle = await h.Fs.OpenAsync(inode, VfsOpenFlags.Write | VfsOpenFlags.Truncate);
        await h.Fs.FlushAsync(handle);
        await h.Fs.ReleaseAsync(handle);
        await h.Fs.DrainAsync();
        file = (await FsPaths.ServerFileAsync(h.Client, h.ShareId, "t.txt"))!;
        Assert.Equal(0, file.Size);
        Assert.Equal(3, file.Version);
    }

    [Fact]
    public async Task UnlinkedOpenFileKeepsWorkingForItsHandle()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        await h.Fs.WriteFileAsync("open.txt", Bytes("still readable"), fsync: true);
        ulong handle = await h.Fs.OpenAsync(await h.Fs.InodeOfAsync("open.txt"), VfsOpenFlags.ReadWrite);
        await h.Fs.WriteAsync(handle, 0, Bytes("S"));

        await h.Fs.UnlinkAsync(VfsFileSystem.RootInode, "open.txt");

        Assert.Equal(Bytes("Still readable"), await h.Fs.ReadAllAsync(handle));
        await h.Fs.FlushAsync(handle);
        await h.Fs.ReleaseAsync(handle);
        await h.Fs.DrainAsync();
        Assert.Null(await FsPaths.ServerFileAsync(h.Client, h.ShareId, "open.txt"));
    }

    [Fact]
    public async Task StatusCountsPendingUploads()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.FromMinutes(5) });
        await h.Fs.WriteFileAsync("p1", Bytes("one"));
        await h.Fs.WriteFileAsync("p2", Bytes("two!"));

        VfsStatus status = h.Fs.GetStatus();
        Assert.Equal(2, status.PendingUploads);
        Assert.Equal(7, status.PendingUploadBytes);

        var reports = new List<VfsStatus>();
        await h.Fs.DrainAsync(new SyncProgress(reports.Add));
        Assert.Equal(0, h.Fs.GetStatus().PendingUploads);
        Assert.NotEmpty(reports);
        Assert.Equal(0, reports[^1].PendingUploads);
    }

    private sealed class SyncProgress(Action<VfsStatus> report) : IProgress<VfsStatus>
    {
        public void Report(VfsStatus value)
        {
            lock (this)
            {
                report(value);
            }
        }
    }
}
