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
            await hold.AnswerHeld.WaitAsync(s_wait);

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
            await hold.RequestHeld.WaitAsync(s_wait);

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
            await hold.RequestHeld.WaitAsync(s_wait);

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
    /// Wraps the core's socket handler. Holds the first matching request before it is sent, or the answer of the first
    /// matching request (the server has answered; the core waits); one of each at a time. Disposing a hold releases it.
    /// </summary>
    private sealed class HoldingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly Lock _gate = new();
        private Hold? _request;
        private Hold? _answer;

        public IDisposable HoldAnswerOf(HttpMethod method, string pathPart) => _answer = new Hold(method, pathPart);

        public IDisposable HoldRequest(HttpMethod method, string pathPart) => _request = new Hold(method, pathPart);

        /// <summary>Completes when the request held by <see cref="HoldRequest"/> has arrived.</summary>
        public Task RequestHeld => _request!.Arrived.Task;

        /// <summary>Completes when the answer held by <see cref="HoldAnswerOf"/> has arrived.</summary>
        public Task AnswerHeld => _answer!.Arrived.Task;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Hold? before = Take(ref _request, request);
            if (before is not null)
            {
                before.Arrived.TrySetResult();
                await before.RequestReleased.Task.WaitAsync(cancellationToken);
            }

            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (Take(ref _answer, request) is { } after)
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                after.Arrived.TrySetResult();
                await after.Released.Task.WaitAsync(cancellationToken);
            }

            return response;
        }

        private Hold? Take(ref Hold? slot, HttpRequestMessage request)
        {
            lock (_gate)
            {
                if (slot is { Taken: false } hold && hold.Matches(request))
                {
                    hold.Taken = true;
                    return hold;
                }

                return null;
            }
        }

        private sealed class Hold(HttpMethod method, string pathPart) : IDisposable
        {
            public bool Taken { get; set; }

            public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public TaskCompletionSource RequestReleased { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public bool Matches(HttpRequestMessage request) =>
                request.Method == method && request.RequestUri!.AbsolutePath.Contains(pathPart, StringComparison.Ordinal);

            public void Dispose()
            {
                RequestReleased.TrySetResult();
                Released.TrySetResult();
            }
        }
    }
}
