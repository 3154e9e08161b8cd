using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

/// <summary>
/// The upload queue over real HTTP: the real client against the local server, real staged files, real time
/// with short delays. Each test starts its own server and removes everything it made.
/// </summary>
public sealed class UploadQueueServerTests : ServerBackedQueueTest
{
    private const int ChunkSize = 64 * 1024;

    private UploadQueueOptions Options(long smallThreshold = 256 * 1024) => Cache.Options(TimeSpan.FromMilliseconds(20), smallThreshold) with
    {
        ChunkSize = ChunkSize,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        RetryMaxDelay = TimeSpan.FromMilliseconds(500),
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

    [Fact]
    public async Task Small_and_large_new_files_land_with_their_bytes()
    {
        await using var queue = new UploadQueue(Client, Options(), null, TimeProvider.System);
        byte[] small = Eventually.Bytes(1000, 1);
        byte[] large = Eventually.Bytes(ChunkSize * 7 + 123, 2);
        var smallKey = StagedFileKey.New();
        var largeKey = StagedFileKey.New();
        await queue.EnqueueAsync(Cache.Stage(smallKey, small, 1, NewFile("small.bin")), Ct);
        await queue.EnqueueAsync(Cache.Stage(largeKey, large, 1, NewFile("large.bin")), Ct);

        FileItem? smallItem = await queue.WaitForUploadAsync(smallKey, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        FileItem? largeItem = await queue.WaitForUploadAsync(largeKey, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(small, await DownloadAsync(smallItem!.Id));
        Assert.Equal(large, await DownloadAsync(largeItem!.Id));
        Assert.Equal(Sha(large), largeItem.ChecksumSha256);
        Assert.Empty(Directory.GetFiles(Cache.Journal));
    }

    [Fact]
    public async Task Replace_keeps_the_file_id_and_adds_a_version()
    {
        FileItem original = await Client.UploadSmallFileAsync(Share, null, "doc.txt", "v1"u8.ToArray(), Ct);
        await using var queue = new UploadQueue(Client, Options(), null, TimeProvider.System);
        var key = StagedFileKey.New();
        byte[] content = "version two"u8.ToArray();

        await queue.EnqueueAsync(Cache.Stage(key, content, 1, new UploadTarget(Share, null, "doc.txt", original.Id, original.VersionId)), Ct);
        FileItem? item = await queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(original.Id, item!.Id);
        Assert.True(item.Version > original.Version);
        Assert.Equal(2, (await Client.ListVersionsAsync(original.Id, Ct)).Count);
        Assert.Equal(content, await DownloadAsync(original.Id));
    }

    [Fact]
    public async Task Crash_mid_upload_then_recovery_resumes_the_same_session_without_resending_chunks()
    {
        const int Chunks = 12;
        const int SentBeforeCrash = 5;
        byte[] content = Eventually.Bytes(ChunkSize * Chunks, 3);
        var key = StagedFileKey.New();

        var first = new RecordingTransport(new ClientUploadTransport(Client)) { StallAfterChunks = SentBeforeCrash };
        var queue = new UploadQueue(first, Options(smallThreshold: 0), null, TimeProvider.System);
        await queue.EnqueueAsync(Cache.Stage(key, content, 1, NewFile("resume.bin")), Ct);
        await first.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await Eventually.TrueAsync(() => first.ChunksCompleted == SentBeforeCrash, "chunks confirmed before the crash");
        await queue.DisposeAsync();

        JournalRecord record = Assert.Single(new UploadJournal(Cache.Journal).LoadAll());
        UploadSessionId session = Assert.NotNull(record.ResumableSession);
        Assert.Equal(first.SessionIds.Single(), session);
        Assert.Equal(SentBeforeCrash, (await Client.GetUploadSessionAsync(session, Ct)).ReceivedChunks.Count);

        var second = new RecordingTransport(new ClientUploadTransport(Client));
        await using var recovered = new UploadQueue(second, Options(smallThreshold: 0), null, TimeProvider.System);
        var uploaded = new TaskCompletionSource<FileItem>(TaskCreationOptions.RunContinuationsAsynchronously);
        recovered.Uploaded += (_, _, item) => uploaded.TrySetResult(item);
        IReadOnlyList<PendingUpload> pending = await recovered.RecoverAsync(Ct);
        FileItem landed = await uploaded.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(session, Assert.Single(pending).SessionId);
        Assert.Equal([session], second.SessionIds);
        Assert.Equal(Chunks - SentBeforeCrash, second.ChunkReads);
        Assert.Equal(content, await DownloadAsync(landed.Id));
        Assert.Empty(Directory.GetFiles(Cache.Journal));
    }

    [Fact]
    public async Task Quota_full_moves_the_content_to_the_recovery_folder_intact()
    {
        await Server.SetShareQuotaAsync(Server.DefaultShareId, 10_000);
        await using var queue = new UploadQueue(Client, Options(), null, TimeProvider.System);
        var failed = new TaskCompletionSource<UploadFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Failed += (_, failure) => failed.TrySetResult(failure);
        byte[] content = Eventually.Bytes(50_000, 4);
        var key = StagedFileKey.New();

        await queue.EnqueueAsync(Cache.Stage(key, content, 1, NewFile("too-big.bin")), Ct);
        UploadFailure failure = await failed.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(ScaiDriveErrorKind.QuotaExceeded, failure.Kind);
        Assert.Equal(content, File.ReadAllBytes(failure.RecoveryPath!));
        Assert.True(File.Exists(failure.RecoveryPath + RecoveryFolder.SidecarSuffix));
        Assert.Empty(Directory.GetFiles(Cache.Journal));
        Assert.Single(queue.GetStatus().Failures);
    }

    [Fact]
    public async Task A_stale_base_version_leaves_both_contents_on_the_server()
    {
        FileItem original = await Client.UploadSmallFileAsync(Share, null, "shared.txt", "base"u8.ToArray(), Ct);
        byte[] theirs = "their edit"u8.ToArray();
        await UploadReplacementAsync(original, theirs);
        await using var queue = new UploadQueue(Client, Options(), null, TimeProvider.System);
        var failed = new TaskCompletionSource<UploadFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Failed += (_, failure) => failed.TrySetResult(failure);
        byte[] ours = "our edit, made offline"u8.ToArray();
        var key = StagedFileKey.New();

        await queue.EnqueueAsync(Cache.Stage(key, ours, 1, new UploadTarget(Share, null, "shared.txt", original.Id, original.VersionId)), Ct);
        UploadFailure failure = await failed.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(UploadFailureDisposition.ConflictCopied, failure.Disposition);
        Assert.Equal(ScaiDriveErrorKind.VersionConflict, failure.Kind);
        Assert.Matches(@"^shared \(conflict \d{4}-\d{2}-\d{2} \d{6}\)\.txt$", failure.ConflictCopy!.Name);
        Assert.Equal(theirs, await DownloadAsync(original.Id));
        Assert.Equal(ours, await DownloadAsync(failure.ConflictCopy.Id));
        FolderListing root = await Client.ListChildrenAsync(Share, null, cancellationToken: Ct);
        Assert.Equal(2, root.Files.Count(f => f.Name.StartsWith("shared", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Uploads_under_injected_faults_finish_with_matching_sha256()
    {
        await Server.SetFaultsAsync(errorRate: 0.20, resetRate: 0.02);
        await using var queue = new UploadQueue(Client, Options(), null, TimeProvider.System);
        var files = new List<(StagedFileKey Key, string Name, byte[] Content)>();
        for (int i = 0; i < 12; i++)
        {
            // Half multipart, half resumable (up to 8 chunks).
            byte[] content = Eventually.Bytes(i % 2 == 0 ? 3000 + i : ChunkSize * (1 + (i % 8)) + i, 100 + i);
            var key = StagedFileKey.New();
            files.Add((key, $"fault-{i}.bin", content));
            await queue.EnqueueAsync(Cache.Stage(key, content, 1, NewFile($"fault-{i}.bin")), Ct);
        }

        await queue.DrainAsync(null, Ct).WaitAsync(TimeSpan.FromSeconds(120), Ct);
        await Server.SetFaultsAsync();

        Assert.Empty(queue.GetStatus().Failures);
        FolderListing root = await Client.ListChildrenAsync(Share, null, cancellationToken: Ct);
        foreach ((StagedFileKey _, string name, byte[] content) in files)
        {
            FileItem item = Assert.Single(root.Files, f => f.Name == name);
            Assert.Equal(Sha(content), item.ChecksumSha256);
            Assert.Equal(Sha(content), Sha(await DownloadAsync(item.Id)));
        }

        Assert.Equal(files.Count, root.Files.Count(f => f.Name.StartsWith("fault-", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(ChunkSize * 3 + 5)]
    public async Task Crash_after_the_upload_landed_but_before_the_record_was_removed_makes_no_duplicate(int length)
    {
        byte[] content = Eventually.Bytes(length, 9);
        var key = StagedFileKey.New();
        FileItem first;
        var recording = new RecordingTransport(new ClientUploadTransport(Client));
        await using (var queue = new UploadQueue(recording, Options(smallThreshold: 2000), null, TimeProvider.System))
        {
            UploadRequest request = Cache.Stage(key, content, 1, NewFile("once.bin"));
            await queue.EnqueueAsync(request, Ct);
            first = (await queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct))!;

            // Put back the record as it was just before the upload completed (with its completed session for the large file).
            Assert.Equal(length > 2000 ? 1 : 0, recording.SessionIds.Count);
            var journal = new UploadJournal(Cache.Journal);
            await journal.WriteAsync(JournalRecord.From(request, DateTimeOffset.UtcNow) with
            {
                SessionId = recording.SessionIds.FirstOrDefault().Value,
                SessionGeneration = recording.SessionIds.Count > 0 ? 1 : null,
            }, Ct);
        }

        await using var recovered = new UploadQueue(Client, Options(smallThreshold: 2000), null, TimeProvider.System);
        var uploaded = new TaskCompletionSource<FileItem>(TaskCreationOptions.RunContinuationsAsynchronously);
        recovered.Uploaded += (_, _, item) => uploaded.TrySetResult(item);
        recovered.Failed += (_, failure) => uploaded.TrySetException(new InvalidOperationException(failure.Message));
        await recovered.RecoverAsync(Ct);
        FileItem again = await uploaded.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(first.Id, again.Id);
        FolderListing root = await Client.ListChildrenAsync(Share, null, cancellationToken: Ct);
        Assert.Single(root.Files, f => f.Name.StartsWith("once", StringComparison.Ordinal));
        Assert.Single(await Client.ListVersionsAsync(first.Id, Ct));
        Assert.Empty(Directory.GetFiles(Cache.Journal));
    }

    private async Task UploadReplacementAsync(FileItem file, byte[] content)
    {
        var request = new CreateUploadSessionRequest(Share, file.FolderId, file.Name, content.Length)
        {
            ReplaceFileId = file.Id,
            BaseVersionId = file.VersionId,
            ChunkSize = ChunkSize,
        };
        await Client.UploadResumableAsync(request, new MemoryUploadSource(content), cancellationToken: Ct);
    }

    /// <summary>
    /// Passes everything to the real client, counting the chunk reads the client makes and the sessions it reports;
    /// optionally stalls every read after the first N chunks until cancelled, like a process that stops mid-upload.
    /// </summary>
    private sealed class RecordingTransport(IUploadTransport inner) : IUploadTransport
    {
        private int _chunkReads;
        private int _chunksCompleted;

        public int StallAfterChunks { get; init; } = int.MaxValue;

        public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<UploadSessionId> SessionIds { get; } = [];

        public int ChunkReads => Volatile.Read(ref _chunkReads);

        public int ChunksCompleted => Volatile.Read(ref _chunksCompleted);

        public Task<FileItem> UploadSmallFileAsync(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            inner.UploadSmallFileAsync(shareId, folderId, name, content, cancellationToken);

        public Task<FileItem> UploadResumableAsync(CreateUploadSessionRequest request, IUploadSource source, ResumableUploadOptions options, IProgress<long>? progress, CancellationToken cancellationToken)
        {
            Func<UploadSession, CancellationToken, ValueTask>? ready = options.OnSessionReady;
            ResumableUploadOptions wrapped = options with
            {
                Parallelism = 1,
                OnSessionReady = async (session, ct) =>
                {
                    lock (SessionIds)
                    {
                        SessionIds.Add(session.Id);
                    }

                    if (ready is not null)
                    {
                        await ready(session, ct);
                    }
                },
            };
            var counting = new CountingSource(source, this);
            var confirmed = new Progress(this, request.ChunkSize, progress);
            return inner.UploadResumableAsync(request, counting, wrapped, confirmed, cancellationToken);
        }

        public Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken) => inner.AbortUploadAsync(sessionId, cancellationToken);

        public Task<FileItem> GetFileAsync(FileId fileId, CancellationToken cancellationToken) => inner.GetFileAsync(fileId, cancellationToken);

        public Task<FolderListing> ListChildrenAsync(ShareId shareId, FolderId? folderId, CancellationToken cancellationToken) =>
            inner.ListChildrenAsync(shareId, folderId, cancellationToken);

        public Task<FileItem> MoveFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName, CancellationToken cancellationToken) =>
            inner.MoveFileAsync(fileId, targetFolderId, targetShareId, newName, cancellationToken);

        public Task DeleteFileAsync(FileId fileId, CancellationToken cancellationToken) => inner.DeleteFileAsync(fileId, cancellationToken);

        private sealed class CountingSource(IUploadSource source, RecordingTransport owner) : IUploadSource
        {
            public long Length => source.Length;

            public async ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
            {
                if (Interlocked.Increment(ref owner._chunkReads) > owner.StallAfterChunks)
                {
                    owner.Stalled.TrySetResult();
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                return await source.ReadAtAsync(offset, buffer, cancellationToken);
            }
        }

        private sealed class Progress(RecordingTransport owner, int chunkSize, IProgress<long>? inner) : IProgress<long>
        {
            public void Report(long value)
            {
                Volatile.Write(ref owner._chunksCompleted, (int)(value / chunkSize));
                inner?.Report(value);
            }
        }
    }
}
