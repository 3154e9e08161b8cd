using System.Text;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>The change-feed follower: remote changes reach the core and the kernel long before the (here: one hour) TTL.</summary>
public sealed class ChangeFeedTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what)
    {
        T value = await probe();
        for (int i = 0; i < 100 && !done(value); i++)
        {
            await Task.Delay(50);
            value = await probe();
        }

        Assert.True(done(value), what);
        return value;
    }

    [Fact]
    public async Task RemoteChangesShowWithinThePollIntervalDespiteALongTtl()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with
        {
            FollowChanges = true,
            ChangePollInterval = TimeSpan.FromMilliseconds(100),
            AttributeTimeout = TimeSpan.FromHours(1),
            NegativeEntryTimeout = TimeSpan.FromHours(1),
        });
        var notifier = new RecordingNotifier();
        h.Fs.KernelNotifier = notifier;
        ulong dir = await h.Fs.MkdirAsync("feed");
        await h.Fs.WriteFileAsync("feed/doc.txt", Bytes("old content"), fsync: true);
        await h.Fs.WriteFileAsync("feed/gone.txt", Bytes("to be deleted"), fsync: true);
        ulong doc = await h.Fs.InodeOfAsync("feed/doc.txt");
        Assert.Equal(Bytes("old content"), await h.Fs.ReadFileAsync("feed/doc.txt"));
        Assert.Equal(["doc.txt", "gone.txt"], (await h.Fs.ReadDirectoryAsync(dir)).Select(e => e.Name));

        ScaiDriveClient other = h.OtherClient();
        FolderId? folder = await FsPaths.ServerFolderAsync(other, h.ShareId, "feed");
        FileItem docItem = (await FsPaths.ServerFileAsync(other, h.ShareId, "feed/doc.txt"))!;
        byte[] newer = Bytes("new content from a colleague");
        await other.UploadResumableAsync(
            new CreateUploadSessionRequest(h.ShareId, folder, "doc.txt", newer.Length) { ReplaceFileId = docItem.Id, BaseVersionId = docItem.VersionId },
            new MemoryUploadSource(newer));
        await other.UploadSmallFileAsync(h.ShareId, folder, "new.txt", Bytes("hello"));
        await other.DeleteFileAsync((await FsPaths.ServerFileAsync(other, h.ShareId, "feed/gone.txt"))!.Id);

        await EventuallyAsync(
            async () => (await h.Fs.ReadDirectoryAsync(dir)).Select(e => e.Name).ToArray(),
            names => names.SequenceEqual(["doc.txt", "new.txt"]),
            "the listing shows the remote create and delete");
        await EventuallyAsync(() => h.Fs.GetAttributesAsync(doc).AsTask(), a => a.Size == newer.Length, "stat shows the new version's size");
        Assert.Equal(Bytes("new content from a colleague"), await h.Fs.ReadFileAsync("feed/doc.txt"));
        Assert.Contains((doc, (string?)null, true), notifier.Calls);
        Assert.Contains((dir, (string?)"gone.txt", false), notifier.Calls);
    }
}
