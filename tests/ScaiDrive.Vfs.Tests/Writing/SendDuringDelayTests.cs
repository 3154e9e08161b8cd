using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

/// <summary>
/// <see cref="UploadQueueOptions.SendDuringWriteBackDelay"/> against the real server: a large file's chunks go out
/// right after close, the commit waits for the delay, and everything the delay is for (coalescing rewrites, fsync
/// skipping it, crash recovery, a failing server) still holds.
/// </summary>
public sealed class SendDuringDelayTests : ServerBackedQueueTest
{
    private const int ChunkSize = 64 * 1024;
    private const int Chunks = 24;

    private UploadQueueOptions Options(TimeSpan delay) => Cache.Options(delay, smallThreshold: 4 * ChunkSize) with
    {
        ChunkSize = ChunkSize,
        SendDuringWriteBackDelay = true,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        RetryMaxDelay = TimeSpan.FromMilliseconds(300),
    };

    private UploadTarget NewFile(string name) => new(Share, null, name, null, null);

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private async Task<byte[]> DownloadAsync(FileId id)
    {
        await using Stream stream = await Client.OpenReadAsync(id, cancellationToken: Ct);
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory, Ct);
        return memory.ToArray();
    }

    private async Task<int> ReceivedAsync(UploadSessionId session) => (await Client.GetUploadSessionAsync(session, Ct)).ReceivedChunks.Count;

    [Fact]
    public async Task Chunks_go_out_during_the_delay_and_only_the_commit_waits_for_it()
    {
        var spy = new SessionSpy(new ClientUploadTransport(Client));
        await using var queue = new UploadQueue(spy, Options(TimeSpan.FromSeconds(6)), null, TimeProvider.System);
        byte[] content = Eventually.Bytes((ChunkSize * Chunks) + 77, 31);
        var key = StagedFileKey.New();
        DateTimeOffset enqueued = DateTimeOffset.UtcNow;
        await queue.EnqueueAsync(Cache.Stage(key, content, 1, NewFile("early.bin")), Ct);

        // Everything but the last chunk is on the server well before the delay is over; no file yet.
        await Eventually.TrueAsync(() => spy.Sessions.Count == 1, "a session during the delay", 10_000);
        UploadSessionId session = spy.Sessions.Single();
        await Eventually.TrueAsync(() => ReceivedAsync(session).GetAwaiter().GetResult() == Chunks, "all chunks but the last", 10_000);
        Assert.True(DateTimeOffset.UtcNow - enqueued < TimeSpan.FromSeconds(6), "the chunks took the whole delay: the test proves nothing on a machine this slow");
        Assert.DoesNotContain((await Client.ListChildrenAsync(Share, null, cancellationToken: Ct)).Files, f => f.Name == "early.bin");
        Assert.Contains(key, queue.GetStatus().Items.Select(i => i.Key));

        FileItem item = (await queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct))!;
        Assert.Equal(Sha(content), item.ChecksumSha256);
        Assert.Equal(content, await DownloadAsync(item.Id));
        Assert.Equal([session], spy.Sessions);
    }

    [Fact]
    public async Task Commit_waits_for_the_delay_unless_someone_waits_for_the_upload()
    {
        await using var queue = new UploadQueue(new ClientUploadTransport(Client), Options(TimeSpan.FromSeconds(2)), null, TimeProvider.System);
        var events = new QueueEvents(queue);
        byte[] content = Eventually.Bytes(ChunkSize * 8, 32);
        var key = StagedFileKey.New();
        DateTimeOffset enqueued = DateTimeOffset.UtcNow;
        await queue.EnqueueAsync(Cache.Stage(key, content, 1, NewFile("delayed.bin")), Ct);
        await Eventually.TrueAsync(() => !events.Uploaded.IsEmpty, "the upload", 20_000);
        Assert.True(DateTimeOffset.UtcNow - enqueued >= TimeSpan.FromSeconds(2), "committed before the write-back delay was over");

        // fsync (a waiter) skips what is left of a long delay.
        await using var slow = new UploadQueue(new ClientUploadTransport(Client), Options(TimeSpan.FromMinutes(5)), null, TimeProvider.System);
        var key2 = StagedFileKey.New();
        await slow.EnqueueAsync(Cache.Stage(key2, content, 1, NewFile("fsynced.bin")), Ct);
        FileItem item = (await slow.WaitForUploadAsync(key2, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct))!;
        Assert.Equal(content, await DownloadAsync(item.Id));
    }

    [Fact]
    public async Task A_rewrite_during_the_delay_aborts_the_early_session_and_makes_one_version()
    {
        var spy = new SessionSpy(new ClientUploadTransport(Client));
        await using var queue = new UploadQueue(spy, Options(TimeSpan.FromSeconds(2)), null, TimeProvider.System);
        var key = StagedFileKey.New();
        byte[] first = Eventually.Bytes(ChunkSize * Chunks, 33);
        await queue.EnqueueAsync(Cache.Stage(key, first, 1, NewFile("rewritten.bin")), Ct);
        await Eventually.TrueAsync(() => spy.Sessions.Count == 1, "the first generation's session", 10_000);
        UploadSessionId early = spy.Sessions.Single();
        await Eventually.TrueAsync(() => ReceivedAsync(early).GetAwaiter().GetResult() >= 2, "some chunks of the first generation", 10_000);

        // The writer rewrote a chunk that was already sent, and truncated the file (a new generation, as close makes it).
        queue.Hold(key);
        byte[] second = Eventually.Bytes((ChunkSize * (Chunks - 3)) + 5, 34);
        UploadRequest request = Cache.Stage(key, second, 2, NewFile("rewritten.bin"));
        await queue.EnqueueAsync(request, Ct);
        FileItem item = (await queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct))!;

        Assert.Equal(second, await DownloadAsync(item.Id));
        Assert.Single(await Client.ListVersionsAsync(item.Id, Ct));
        ScaiDriveApiException gone = await Assert.ThrowsAsync<ScaiDriveApiException>(() => Client.GetUploadSessionAsync(early, Ct));
        Assert.True(gone.Kind is ScaiDriveErrorKind.Gone or ScaiDriveErrorKind.NotFound, $"the early session is {gone.Kind}");
        Assert.Equal(2, spy.Sessions.Count);
    }

    [Fact]
    public async Task A_crash_during_the_delay_resumes_the_early_session_and_sends_only_what_is_missing()
    {
        var spy = new SessionSpy(new ClientUploadTransport(Client));
        var queue = new UploadQueue(spy, Options(TimeSpan.FromMinutes(5)), null, TimeProvider.System);
        byte[] content = Eventually.Bytes((ChunkSize * Chunks) + 9, 35);
        var key = StagedFileKey.New();
        await queue.EnqueueAsync(Cache.Stage(key, content, 1, NewFile("crashed.bin")), Ct);
        await Eventually.TrueAsync(() => spy.Sessions.Count == 1, "the early session", 10_000);
        UploadSessionId session = spy.Sessions.Single();
        await Eventually.TrueAsync(() => ReceivedAsync(session).GetAwaiter().GetResult() == Chunks, "all chunks but the last", 10_000);
        await queue.DisposeAsync(); // like kill -9: no abort, the record stays

        JournalRecord record = Assert.Single(new UploadJournal(Cache.Journal).LoadAll());
        Assert.Equal(session, record.ResumableSession);

        var second = new SessionSpy(new ClientUploadTransport(Client));
        await using var recovered = new UploadQueue(second, Options(TimeSpan.FromMinutes(5)), null, TimeProvider.System);
        var landed = new TaskCompletionSource<FileItem>(TaskCreationOptions.RunContinuationsAsynchronously);
        recovered.Uploaded += (_, _, item) => landed.TrySetResult(item);
        await recovered.RecoverAsync(Ct);
        FileItem item = await landed.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(content, await DownloadAsync(item.Id));
        Assert.Equal([session], second.Sessions);
        Assert.Equal(1, second.ChunkReads); // only the last chunk
        Assert.Empty(Directory.GetFiles(Cache.Journal));
    }

    [Fact]
    public async Task Under_injected_faults_every_early_upload_lands_with_its_sha256()
    {
        await Server.SetFaultsAsync(errorRate: 0.15, resetRate: 0.02);
        await using var queue = new UploadQueue(new ClientUploadTransport(Client), Options(TimeSpan.FromMilliseconds(500)), null, TimeProvider.System);
        var files = new List<(StagedFileKey Key, string Name, byte[] Content)>();
        for (int i = 0; i < 6; i++)
        {
            byte[] content = Eventually.Bytes((ChunkSize * (5 + (i * 3))) + i, 40 + i);
            var key = StagedFileKey.New();
            files.Add((key, $"early-fault-{i}.bin", content));
            await queue.EnqueueAsync(Cache.Stage(key, content, 1, NewFile($"early-fault-{i}.bin")), Ct);
        }

        foreach ((StagedFileKey key, _, _) in files)
        {
            await queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(120), Ct);
        }

        await Server.SetFaultsAsync();
        Assert.Empty(queue.GetStatus().Failures);
        FolderListing root = await Client.ListChildrenAsync(Share, null, cancellationToken: Ct);
        foreach ((_, string name, byte[] content) in files)
        {
            FileItem item = Assert.Single(root.Files, f => f.Name == name);
            Assert.Equal(Sha(content), item.ChecksumSha256);
            Assert.Equal(content, await DownloadAsync(item.Id));
        }
    }

    /// <summary>Records the sessions a queue opens and counts the chunks it reads from the staged file.</summary>
    private sealed class SessionSpy(IUploadTransport inner) : IUploadTransport
    {
        private int _chunkReads;

        public List<UploadSessionId> Sessions { get; } = [];

        public int ChunkReads => Volatile.Read(ref _chunkReads);

        public Task<FileItem> UploadSmallFileAsync(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            inner.UploadSmallFileAsync(shareId, folderId, name, content, cancellationToken);

        public Task<FileItem> UploadResumableAsync(CreateUploadSessionRequest request, IUploadSource source, ResumableUploadOptions options, IProgress<long>? progress, CancellationToken cancellationToken)
        {
            Func<UploadSession, CancellationToken, ValueTask>? ready = options.OnSessionReady;
            ResumableUploadOptions wrapped = options with
            {
                OnSessionReady = async (session, ct) =>
                {
                    lock (Sessions)
                    {
                        Sessions.Add(session.Id);
                    }

                    if (ready is not null)
                    {
                        await ready(session, ct);
                    }
                },
            };
            return inner.UploadResumableAsync(request, new Counting(source, this), wrapped, progress, cancellationToken);
        }

        public Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken) => inner.AbortUploadAsync(sessionId, cancellationToken);

        public Task<FileItem> GetFileAsync(FileId fileId, CancellationToken cancellationToken) => inner.GetFileAsync(fileId, cancellationToken);

        public Task<FolderListing> ListChildrenAsync(ShareId shareId, FolderId? folderId, CancellationToken cancellationToken) =>
            inner.ListChildrenAsync(shareId, folderId, cancellationToken);

        public Task<FileItem> MoveFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName, CancellationToken cancellationToken) =>
            inner.MoveFileAsync(fileId, targetFolderId, targetShareId, newName, cancellationToken);

        public Task DeleteFileAsync(FileId fileId, CancellationToken cancellationToken) => inner.DeleteFileAsync(fileId, cancellationToken);

        private sealed class Counting(IUploadSource source, SessionSpy spy) : IUploadSource
        {
            public long Length => source.Length;

            public ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
            {
                if (offset % ChunkSize == 0)
                {
                    Interlocked.Increment(ref spy._chunkReads);
                }

                return source.ReadAtAsync(offset, buffer, cancellationToken);
            }
        }
    }
}
