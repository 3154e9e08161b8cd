using System.Text;
using ScaiDrive.Client;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>
/// A folder listing, like a page of the change feed, is a snapshot of the server at the moment it was answered; the core
/// applies it later. These tests hold one request of the core at a chosen point (the listing's answer, or a delete
/// before it is sent) and do something else meanwhile, so the interleavings that made a file vanish or come back happen
/// every time, not one run in six.
/// </summary>
public sealed class ListingRaceTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<List<string>> NamesAsync(VfsFileSystem fs, ulong dir) =>
        [.. (await fs.ReadDirectoryAsync(dir)).Select(e => e.Name)];

    [Fact]
    public async Task AFileThatLandsWhileAListingIsInFlightStaysListed()
    {
        var hold = new HoldingHandler();
        await using VfsHarness h = await VfsHarness.StartAsync(
            o => o with { AttributeTimeout = TimeSpan.FromMilliseconds(100), WriteBackDelay = TimeSpan.FromMinutes(5) },
            handler: hold);
        ulong file = await h.Fs.WriteFileAsync("report.txt", Bytes("quarterly figures"));
        await Task.Delay(200); // The root's listing expires.

        // The server answers the listing before the upload ran: no report.txt in it.
        Task<IReadOnlyList<VfsDirectoryEntry>> listing;
        using (hold.HoldAnswerOf(HttpMethod.Get, "/children"))
        {
            listing = h.Fs.ReadDirectoryAsync(VfsFileSystem.RootInode).AsTask();
            await hold.Held.WaitAsync(s_wait);

            // Meanwhile the upload lands and the file gets its server ID.
            await h.Fs.DrainAsync();
            Assert.NotNull(await FsPaths.ServerFileAsync(h.Client, h.ShareId, "report.txt"));
        }

        Assert.Contains("report.txt", (await listing.WaitAsync(s_wait)).Select(e => e.Name));
        Assert.Contains("report.txt", await NamesAsync(h.Fs, VfsFileSystem.RootInode));
        Assert.Equal(file, await h.Fs.InodeOfAsync("report.txt"));
        Assert.Equal(Bytes("quarterly figures"), await h.Fs.ReadFileAsync("report.txt"));
    }

    [Fact]
    public async Task AFileRenamedOverAnotherDoesNotComeBackFromAListingAnsweredBeforeItsTrashing()
    {
        var hold = new HoldingHandler();
        await using VfsHarness h = await VfsHarness.StartAsync(
            o => o with { AttributeTimeout = TimeSpan.FromMilliseconds(100), WriteBackDelay = TimeSpan.Zero },
            handler: hold);
        await h.Fs.WriteFileAsync("draft.txt", Bytes("new text"), fsync: true);
        await h.Fs.WriteFileAsync("letter.txt", Bytes("old text"), fsync: true);
        FileItem draft = (await FsPaths.ServerFileAsync(h.Client, h.ShareId, "draft.txt"))!;

        // The editor's save: rename draft.txt over letter.txt. The core sends draft.txt's own server copy to the trash
        // last; that request is held before it is sent.
        Task rename;
        using (hold.HoldRequest(HttpMethod.Delete, "/files/" + draft.Id.Value))
        {
            rename = h.Fs.RenameAsync(VfsFileSystem.RootInode, "draft.txt", VfsFileSystem.RootInode, "letter.txt").AsTask();
            await hold.Held.WaitAsync(s_wait);

            // A listing now still finds draft.txt on the server.
            await Task.Delay(200);
            Assert.DoesNotContain("draft.txt", await NamesAsync(h.Fs, VfsFileSystem.RootInode));
        }

        await rename.WaitAsync(s_wait);
        Assert.Equal(["letter.txt"], await NamesAsync(h.Fs, VfsFileSystem.RootInode));
        await Assert.ThrowsAsync<VfsException>(async () => await h.Fs.InodeOfAsync("draft.txt"));
        await h.Fs.DrainAsync();
        Assert.Equal(Bytes("new text"), await h.Fs.ReadFileAsync("letter.txt"));
        Assert.Null(await FsPaths.ServerFileAsync(h.Client, h.ShareId, "draft.txt"));
    }

    [Fact]
    public async Task TheLastUploadOfAFileRenamedOverAnotherDoesNotComeBackThroughTheChangeFeed()
    {
        var hold = new HoldingHandler();
        await using VfsHarness h = await VfsHarness.StartAsync(
            o => o with
            {
                FollowChanges = true,
                ChangePollInterval = TimeSpan.FromHours(1), // pulls only when the test asks
                ListenForChangeNudges = false,
                AttributeTimeout = TimeSpan.FromHours(1),
                WriteBackDelay = TimeSpan.Zero,
            },
            handler: hold);
        await h.Fs.WriteFileAsync("draft.txt", Bytes("first draft"), fsync: true);
        await h.Fs.WriteFileAsync("letter.txt", Bytes("old text"), fsync: true);
        await h.Fs.Follower!.PullNowAsync(CancellationToken.None);
        Assert.Equal(["draft.txt", "letter.txt"], await NamesAsync(h.Fs, VfsFileSystem.RootInode));

        // The draft's last version lands; the feed has not been read since.
        await h.Fs.WriteFileAsync("draft.txt", Bytes("final draft"), fsync: true);
        FileItem draft = (await FsPaths.ServerFileAsync(h.Client, h.ShareId, "draft.txt"))!;

        Task rename;
        using (hold.HoldRequest(HttpMethod.Delete, "/files/" + draft.Id.Value))
        {
            rename = h.Fs.RenameAsync(VfsFileSystem.RootInode, "draft.txt", VfsFileSystem.RootInode, "letter.txt").AsTask();
            await hold.Held.WaitAsync(s_wait);

            // The feed now reports the draft's new version, under its old name, for an ID no node has any more.
            await h.Fs.Follower.PullNowAsync(CancellationToken.None);
            Assert.Equal(["letter.txt"], await NamesAsync(h.Fs, VfsFileSystem.RootInode));
        }

        await rename.WaitAsync(s_wait);
        await h.Fs.DrainAsync();
        Assert.Equal(["letter.txt"], await NamesAsync(h.Fs, VfsFileSystem.RootInode));
        Assert.Equal(Bytes("final draft"), await h.Fs.ReadFileAsync("letter.txt"));
    }

    /// <summary>
    /// Wraps the core's socket handler. One hold at a time: either the answer of the first matching request is kept
    /// from the core (the server has answered; the core waits), or the first matching request is kept from the server.
    /// Disposing the hold releases it.
    /// </summary>
    private sealed class HoldingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly Lock _gate = new();
        private Hold? _hold;

        /// <summary>Completes when the held request or answer has arrived at the hold.</summary>
        public Task Held => _hold?.Arrived.Task ?? Task.CompletedTask;

        public IDisposable HoldAnswerOf(HttpMethod method, string pathPart) => Start(new Hold(method, pathPart, beforeSending: false));

        public IDisposable HoldRequest(HttpMethod method, string pathPart) => Start(new Hold(method, pathPart, beforeSending: true));

        private Hold Start(Hold hold)
        {
            lock (_gate)
            {
                _hold = hold;
            }

            return hold;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Hold? hold;
            lock (_gate)
            {
                hold = _hold is { } h && !h.Taken && h.Matches(request) ? h : null;
                if (hold is not null)
                {
                    hold.Taken = true;
                }
            }

            if (hold is { BeforeSending: true })
            {
                hold.Arrived.TrySetResult();
                await hold.Released.Task.WaitAsync(cancellationToken);
            }

            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (hold is { BeforeSending: false })
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                hold.Arrived.TrySetResult();
                await hold.Released.Task.WaitAsync(cancellationToken);
            }

            return response;
        }

        private sealed class Hold(HttpMethod method, string pathPart, bool beforeSending) : IDisposable
        {
            public bool BeforeSending { get; } = beforeSending;

            public bool Taken { get; set; }

            public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public bool Matches(HttpRequestMessage request) =>
                request.Method == method && request.RequestUri!.AbsolutePath.Contains(pathPart, StringComparison.Ordinal);

            public void Dispose() => Released.TrySetResult();
        }
    }
}
