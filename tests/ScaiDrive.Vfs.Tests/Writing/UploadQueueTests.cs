using System.Text.Json;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

/// <summary>
/// The queue's timing and policy against an in-memory server, driven by a manual clock: nothing here sleeps to
/// make time pass. The same behaviour over real HTTP is in <see cref="UploadQueueServerTests"/>.
/// </summary>
public sealed class UploadQueueTests : IAsyncDisposable
{
    private static readonly TimeSpan s_delay = TimeSpan.FromSeconds(2);

    private readonly TempCache _cache = new();
    private readonly ManualClock _clock = new();
    private readonly FakeUploadServer _server = new();
    private UploadQueue _queue;
    private QueueEvents _events;

    public UploadQueueTests()
    {
        _queue = NewQueue();
        _events = new QueueEvents(_queue);
    }

    public async ValueTask DisposeAsync()
    {
        await _queue.DisposeAsync();
        _cache.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private UploadQueue NewQueue(long smallThreshold = 8L * 1024 * 1024) =>
        new(_server, _cache.Options(s_delay, smallThreshold), null, _clock);

    private static UploadTarget NewFile(string name) => new(FakeUploadServer.Share, null, name, null, null);

    private static UploadTarget Replace(FileItem item) => new(FakeUploadServer.Share, item.FolderId, item.Name, item.Id, item.VersionId);

    /// <summary>
    /// The server commits the first small POST but never answers it (a lost answer); the task completes at the commit.
    /// </summary>
    private Task LoseTheAnswerOfTheFirstSmallPost()
    {
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, ct) =>
        {
            if (op == "small-committed" && committed.TrySetResult())
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
        };
        return committed.Task;
    }

    [Fact]
    public async Task Enqueue_returns_with_the_record_durable_and_nothing_sent_yet()
    {
        var key = StagedFileKey.New();
        UploadRequest request = _cache.Stage(key, [1, 2, 3], 1, NewFile("a.txt"));

        await _queue.EnqueueAsync(request, Ct);

        JournalRecord record = Assert.Single(new UploadJournal(_cache.Journal).LoadAll());
        Assert.Equal(request, record.ToRequest());
        Assert.Equal(0, _server.SmallUploads + _server.ResumableUploads);
        Assert.Equal(1, _queue.PendingCount);
        Assert.Equal(3, _queue.PendingBytes);
    }

    [Fact]
    public async Task Upload_waits_for_the_write_back_delay_then_removes_the_record()
    {
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1, 2, 3], 1, NewFile("a.txt")), Ct);

        _clock.Advance(s_delay - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, _queue.GetStatus().UploadingCount);
        Assert.Equal(0, _server.SmallUploads);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "uploaded");

        (StagedFileKey k, long generation, FileItem item) = Assert.Single(_events.Uploaded);
        Assert.Equal((key, 1L), (k, generation));
        Assert.Equal("a.txt", item.Name);
        Assert.Equal([1, 2, 3], _server.FindByName("a.txt")!.Content);
        Assert.Empty(Directory.GetFiles(_cache.Journal));
        Assert.Equal(0, _queue.PendingCount);
        Assert.Equal(1, _queue.GetStatus().CompletedCount);
    }

    [Fact]
    public async Task Rewrites_within_the_delay_coalesce_into_one_upload_of_the_last_generation()
    {
        var key = StagedFileKey.New();
        for (int generation = 1; generation <= 3; generation++)
        {
            await _queue.EnqueueAsync(_cache.Stage(key, [(byte)generation], generation, NewFile("c.txt")), Ct);
            _clock.Advance(s_delay / 2);
        }

        Assert.Equal(0, _server.SmallUploads);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "uploaded");

        Assert.Equal(1, _server.SmallUploads);
        Assert.Equal(3, Assert.Single(_events.Uploaded).Generation);
        Assert.Equal([3], _server.FindByName("c.txt")!.Content);
    }

    [Fact]
    public async Task An_older_generation_never_supersedes_a_newer_one()
    {
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [5], 5, NewFile("g.txt")), Ct);
        UploadRequest stale = _cache.Stage(key, [5], 5, NewFile("g.txt")) with { Generation = 4 };
        await _queue.EnqueueAsync(stale, Ct);

        Assert.Equal(5, Assert.Single(new UploadJournal(_cache.Journal).LoadAll()).Generation);
    }

    [Fact]
    public async Task A_held_key_is_not_uploaded_until_enqueued_again()
    {
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1], 1, NewFile("h.txt")), Ct);
        _queue.Hold(key);

        _clock.Advance(s_delay * 10);
        Assert.Equal(0, _server.SmallUploads);
        Assert.Equal(UploadState.Held, Assert.Single(_queue.GetStatus().Items).State);

        await _queue.EnqueueAsync(_cache.Stage(key, [2], 2, NewFile("h.txt")), Ct);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "uploaded");

        Assert.Equal(2, Assert.Single(_events.Uploaded).Generation);
        Assert.Equal([2], _server.FindByName("h.txt")!.Content);
    }

    [Fact]
    public async Task Hold_cancels_an_in_flight_resumable_upload_and_aborts_its_session()
    {
        _queue = await SwapQueueAsync(smallThreshold: 0);
        var chunkEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, ct) =>
        {
            if (op == "chunk" && _server.ChunksSent == 1)
            {
                chunkEntered.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }
        };
        var key = StagedFileKey.New();
        byte[] first = Eventually.Bytes(_server.ChunkSize * 3, 1);
        await _queue.EnqueueAsync(_cache.Stage(key, first, 1, NewFile("big.bin")), Ct);
        _clock.Advance(s_delay);
        await chunkEntered.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        _queue.Hold(key);
        var journal = new UploadJournal(_cache.Journal);
        await Eventually.TrueAsync(() => _server.Aborts == 1 && journal.Read(key)?.SessionId is null, "cancelled, aborted, session forgotten");
        Assert.Equal(0, _server.SessionCount);
        Assert.Equal(UploadState.Held, Assert.Single(_queue.GetStatus().Items).State);

        _server.Hook = null;
        byte[] second = Eventually.Bytes(_server.ChunkSize * 2, 2);
        await _queue.EnqueueAsync(_cache.Stage(key, second, 2, NewFile("big.bin")), Ct);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "uploaded");

        Assert.Equal(2, Assert.Single(_events.Uploaded).Generation);
        Assert.Equal(second, _server.FindByName("big.bin")!.Content);
        Assert.Single(_server.Files);
    }

    [Fact]
    public async Task A_newer_generation_during_an_upload_cancels_it_and_wins()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, ct) =>
        {
            if (op == "small" && entered.TrySetResult())
            {
                await release.Task.WaitAsync(ct);
            }
        };
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1], 1, NewFile("n.txt")), Ct);
        _clock.Advance(s_delay);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        await _queue.EnqueueAsync(_cache.Stage(key, [2], 2, NewFile("n.txt")), Ct);
        await Eventually.TrueAsync(() => _queue.GetStatus().UploadingCount == 0, "first attempt cancelled");
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "uploaded");

        Assert.Equal(2, Assert.Single(_events.Uploaded).Generation);
        Assert.Equal([2], _server.FindByName("n.txt")!.Content);
    }

    [Fact]
    public async Task Small_new_files_go_multipart_large_ones_and_every_replacement_through_a_session()
    {
        _queue = await SwapQueueAsync(smallThreshold: 100);
        var small = StagedFileKey.New();
        var large = StagedFileKey.New();
        var replace = StagedFileKey.New();
        FileItem existing = _server.Seed("old.txt", [9, 9]);
        await _queue.EnqueueAsync(_cache.Stage(small, new byte[100], 1, NewFile("small.bin")), Ct);
        await _queue.EnqueueAsync(_cache.Stage(large, new byte[101], 1, NewFile("large.bin")), Ct);
        await _queue.EnqueueAsync(_cache.Stage(replace, [], 1, Replace(existing)), Ct);

        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => _events.Uploaded.Count == 3, "three uploads");

        Assert.Equal(1, _server.SmallUploads);
        Assert.Equal(2, _server.ResumableUploads);
        CreateUploadSessionRequest replaceRequest = Assert.Single(_server.CreateRequests, r => r.ReplaceFileId is not null);
        Assert.Equal((existing.Id, existing.VersionId, 0L), (replaceRequest.ReplaceFileId!.Value, replaceRequest.BaseVersionId, replaceRequest.FileSize));
        FileItem replaced = _events.Uploaded.Single(e => e.Key == replace).Item;
        Assert.Equal(existing.Id, replaced.Id);
        Assert.Equal(2, replaced.Version);
        Assert.Empty(_server.FindByName("old.txt")!.Content);
    }

    [Fact]
    public async Task A_second_generation_after_the_first_landed_replaces_the_same_file()
    {
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1], 1, NewFile("v.txt")), Ct);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => _events.Uploaded.Count == 1, "first");

        // The façade has not caught up and still says "new file": the queue knows better.
        await _queue.EnqueueAsync(_cache.Stage(key, [2], 2, NewFile("v.txt")), Ct);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => _events.Uploaded.Count == 2, "second");

        FileItem[] items = [.. _events.Uploaded.Select(e => e.Item)];
        Assert.Equal(items[0].Id, items[1].Id);
        Assert.Equal(2, items[1].Version);
        Assert.Single(_server.Files);
    }

    [Fact]
    public async Task Transient_errors_retry_with_capped_exponential_backoff_and_show_in_status()
    {
        int failures = 0;
        _server.Hook = (op, _) => op == "small" && ++failures <= 3
            ? throw new ScaiDriveApiException(ScaiDriveErrorKind.Unavailable, "503 after retries")
            : Task.CompletedTask;
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [7], 1, NewFile("t.txt")), Ct);

        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => _queue.GetStatus().RetryingCount == 1, "first retry wait");
        PendingUploadStatus item = Assert.Single(_queue.GetStatus().Items);
        Assert.Equal((1, _clock.GetUtcNow() + TimeSpan.FromSeconds(1)), (item.Attempts, item.NextAttemptAt));
        Assert.Contains("503", item.LastError, StringComparison.Ordinal);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => _queue.GetStatus().Items.SingleOrDefault()?.Attempts == 2 && _queue.GetStatus().RetryingCount == 1, "second retry wait");
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(2), Assert.Single(_queue.GetStatus().Items).NextAttemptAt);

        _clock.Advance(TimeSpan.FromSeconds(2));
        await Eventually.TrueAsync(() => _queue.GetStatus().Items.SingleOrDefault()?.Attempts == 3 && _queue.GetStatus().RetryingCount == 1, "third retry wait");
        _clock.Advance(TimeSpan.FromSeconds(4));
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "uploaded");

        Assert.Equal(3, _queue.GetStatus().TransientErrors);
        Assert.Empty(_events.Failed);
    }

    [Fact]
    public async Task Quota_exceeded_moves_the_bytes_to_the_recovery_folder_and_reports_it()
    {
        _server.Hook = (op, _) => op == "small"
            ? throw new ScaiDriveApiException(ScaiDriveErrorKind.QuotaExceeded, "quota full", errorCode: "QUOTA_EXCEEDED")
            : Task.CompletedTask;
        var key = StagedFileKey.New();
        byte[] content = Eventually.Bytes(5000, 3);
        await _queue.EnqueueAsync(_cache.Stage(key, content, 1, NewFile("q.bin")), Ct);
        Task<FileItem?> wait = _queue.WaitForUploadAsync(key, Ct);

        UploadFailedException thrown = await Assert.ThrowsAsync<UploadFailedException>(() => wait.WaitAsync(TimeSpan.FromSeconds(15), Ct));

        Assert.Equal(ScaiDriveErrorKind.QuotaExceeded, thrown.Kind);
        (StagedFileKey failedKey, UploadFailure failure) = Assert.Single(_events.Failed);
        Assert.Equal(key, failedKey);
        Assert.Equal(UploadFailureDisposition.MovedToRecovery, failure.Disposition);
        Assert.StartsWith(_cache.Recovery, failure.RecoveryPath, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllBytes(failure.RecoveryPath!));
        using JsonDocument sidecar = JsonDocument.Parse(File.ReadAllBytes(failure.RecoveryPath + RecoveryFolder.SidecarSuffix));
        Assert.Equal("QuotaExceeded", sidecar.RootElement.GetProperty("error_kind").GetString());
        Assert.Equal("q.bin", sidecar.RootElement.GetProperty("name").GetString());
        Assert.Empty(Directory.GetFiles(_cache.Journal));
        Assert.Single(_queue.GetStatus().Failures);
        Assert.Empty(_server.Files);
    }

    [Fact]
    public async Task A_stale_base_version_keeps_both_as_a_conflict_copy()
    {
        FileItem original = _server.Seed("doc.txt", [1]);
        _server.ChangeElsewhere(original.Id, [2]);
        var key = StagedFileKey.New();
        byte[] local = Eventually.Bytes(300, 4);
        await _queue.EnqueueAsync(_cache.Stage(key, local, 1, Replace(original)), Ct);

        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Failed.IsEmpty, "conflict reported");

        UploadFailure failure = Assert.Single(_events.Failed).Failure;
        Assert.Equal((UploadFailureDisposition.ConflictCopied, ScaiDriveErrorKind.VersionConflict), (failure.Disposition, failure.Kind));
        Assert.Equal("doc (conflict 2026-05-04 123017).txt", failure.ConflictCopy!.Name);
        Assert.Equal([2], _server.FindByName("doc.txt")!.Content);
        Assert.Equal(local, _server.FindByName(failure.ConflictCopy.Name)!.Content);
        Assert.Empty(_events.Uploaded);
        Assert.Empty(Directory.GetFiles(_cache.Journal));
    }

    [Fact]
    public async Task A_name_taken_meanwhile_keeps_both_as_a_conflict_copy()
    {
        _server.Seed("taken.txt", [1]);
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [2], 1, NewFile("taken.txt")), Ct);

        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Failed.IsEmpty, "conflict reported");

        UploadFailure failure = Assert.Single(_events.Failed).Failure;
        Assert.Equal((UploadFailureDisposition.ConflictCopied, ScaiDriveErrorKind.NameConflict), (failure.Disposition, failure.Kind));
        Assert.Equal([1], _server.FindByName("taken.txt")!.Content);
        Assert.Equal([2], _server.FindByName(failure.ConflictCopy!.Name)!.Content);
    }

    [Fact]
    public async Task A_name_freed_between_the_conflict_and_the_lookup_is_taken_without_a_conflict_copy()
    {
        // What held the name (a stray that an abandoned upload left, say) goes to the trash just after the server
        // refused our POST: the name is free again, so the file goes up under its own name.
        FileItem stray = _server.Seed("taken.txt", [1]);
        int lists = 0;
        _server.Hook = async (operation, ct) =>
        {
            if (operation == "list" && Interlocked.Increment(ref lists) == 1)
            {
                _server.Hook = null;
                await _server.DeleteFileAsync(stray.Id, ct);
            }
        };
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [2], 1, NewFile("taken.txt")), Ct);

        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty || !_events.Failed.IsEmpty, "settled");

        Assert.Empty(_events.Failed);
        (_, _, FileItem item) = Assert.Single(_events.Uploaded);
        Assert.Equal("taken.txt", item.Name);
        Assert.Equal([2], _server.FindByName("taken.txt")!.Content);
    }

    [Fact]
    public async Task Crash_mid_session_then_recover_resumes_the_same_session_without_resending_chunks()
    {
        _queue = await SwapQueueAsync(smallThreshold: 0);
        var stall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, ct) =>
        {
            if (op == "chunk" && _server.ChunksSent == 2)
            {
                stall.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }
        };
        var key = StagedFileKey.New();
        byte[] content = Eventually.Bytes(_server.ChunkSize * 5 + 17, 5);
        await _queue.EnqueueAsync(_cache.Stage(key, content, 1, NewFile("resume.bin")), Ct);
        _clock.Advance(s_delay);
        await stall.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        // "kill -9": stop without draining; the journal and the server-side session stay.
        await _queue.DisposeAsync();
        JournalRecord record = Assert.Single(new UploadJournal(_cache.Journal).LoadAll());
        Assert.NotNull(record.ResumableSession);
        Assert.Equal(1, _server.SessionCount);
        Assert.Equal(0, _server.Aborts);

        _server.Hook = null;
        _queue = NewQueue(smallThreshold: 0);
        _events = new QueueEvents(_queue);
        IReadOnlyList<PendingUpload> pending = await _queue.RecoverAsync(Ct);

        Assert.Equal(record.ResumableSession, Assert.Single(pending).SessionId);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "recovered upload");
        Assert.Equal(content, _server.FindByName("resume.bin")!.Content);
        Assert.Equal(6, _server.ChunksSent);
        Assert.Equal(1, _server.SessionsCreated);
        Assert.Empty(Directory.GetFiles(_cache.Journal));
    }

    [Fact]
    public async Task Recovery_after_an_expired_session_starts_a_new_one()
    {
        var key = StagedFileKey.New();
        byte[] content = Eventually.Bytes(_server.ChunkSize * 2, 6);
        UploadRequest request = _cache.Stage(key, content, 1, NewFile("expired.bin"));
        await new UploadJournal(_cache.Journal).WriteAsync(JournalRecord.From(request, _clock.GetUtcNow()) with { SessionId = "ups_gone", SessionGeneration = 1 }, Ct);
        await _queue.DisposeAsync();
        _queue = NewQueue(smallThreshold: 0);
        _events = new QueueEvents(_queue);

        await _queue.RecoverAsync(Ct);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "recovered upload");

        Assert.Equal(content, _server.FindByName("expired.bin")!.Content);
        Assert.Equal(1, _server.SessionsCreated);
    }

    [Fact]
    public async Task Recovery_of_an_upload_that_landed_before_the_crash_creates_no_duplicate()
    {
        // The upload completed, then the process died before removing its record.
        byte[] content = Eventually.Bytes(1000, 7);
        FileItem landed = _server.Seed("done.bin", content);
        var key = StagedFileKey.New();
        UploadRequest request = _cache.Stage(key, content, 1, NewFile("done.bin"));
        await new UploadJournal(_cache.Journal).WriteAsync(JournalRecord.From(request, _clock.GetUtcNow()), Ct);
        await _queue.DisposeAsync();
        _queue = NewQueue();
        _events = new QueueEvents(_queue);

        await _queue.RecoverAsync(Ct);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "recognised");

        Assert.Equal(landed.Id, Assert.Single(_events.Uploaded).Item.Id);
        Assert.Single(_server.Files);
        Assert.Empty(_events.Failed);
    }

    [Fact]
    public async Task Recovery_of_a_replacement_that_landed_before_the_crash_adds_no_version()
    {
        FileItem original = _server.Seed("r.bin", [1]);
        byte[] content = Eventually.Bytes(1000, 8);
        FileItem landed = _server.ChangeElsewhere(original.Id, content);
        var key = StagedFileKey.New();
        UploadRequest request = _cache.Stage(key, content, 1, Replace(original));
        await new UploadJournal(_cache.Journal).WriteAsync(JournalRecord.From(request, _clock.GetUtcNow()), Ct);
        await _queue.DisposeAsync();
        _queue = NewQueue();
        _events = new QueueEvents(_queue);

        await _queue.RecoverAsync(Ct);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "recognised");

        Assert.Equal(landed.Version, Assert.Single(_events.Uploaded).Item.Version);
        Assert.Equal(landed.Version, _server.FindByName("r.bin")!.Version);
    }

    [Fact]
    public async Task Recovery_reports_a_record_whose_staged_file_is_gone_and_keeps_the_record()
    {
        var key = StagedFileKey.New();
        UploadRequest request = _cache.Stage(key, [1], 1, NewFile("lost.txt"));
        await new UploadJournal(_cache.Journal).WriteAsync(JournalRecord.From(request, _clock.GetUtcNow()), Ct);
        File.Delete(request.StagedPath);

        Assert.Empty(await _queue.RecoverAsync(Ct));

        Assert.Equal(UploadFailureDisposition.ContentMissing, Assert.Single(_events.Failed).Failure.Disposition);
        Assert.Single(Directory.GetFiles(Path.Combine(_cache.Recovery, "_lost-journal-records")));
        Assert.Empty(Directory.GetFiles(_cache.Journal));
    }

    [Fact]
    public async Task Cancel_forgets_a_never_uploaded_file()
    {
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1], 1, NewFile("gone.txt")), Ct);

        await _queue.CancelAsync(key, Ct);
        _clock.Advance(s_delay * 3);

        Assert.Empty(Directory.GetFiles(_cache.Journal));
        Assert.Equal(0, _queue.PendingCount);
        Assert.Equal(0, _server.SmallUploads);
        Assert.Null(await _queue.WaitForUploadAsync(key, Ct));
    }

    [Fact]
    public async Task Retarget_before_the_upload_sends_it_to_the_new_name()
    {
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [4], 1, NewFile("tmp~")), Ct);

        await _queue.RetargetAsync(key, NewFile("final.txt"), Ct);
        Assert.Equal("final.txt", Assert.Single(new UploadJournal(_cache.Journal).LoadAll()).Name);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty, "uploaded");

        Assert.Equal("final.txt", Assert.Single(_server.Files).Name);
    }

    [Fact]
    public async Task Atomic_save_retargeted_over_an_existing_file_keeps_its_id_and_adds_a_version()
    {
        FileItem existing = _server.Seed("notes.txt", [1]);
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [2, 2], 1, NewFile(".notes.txt.swp")), Ct);

        await _queue.RetargetAsync(key, Replace(existing), Ct);
        FileItem? item = await _queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.Equal((existing.Id, 2L), (item!.Id, item.Version));
        Assert.Equal([2, 2], Assert.Single(_server.Files).Content);
    }

    [Fact]
    public async Task WaitForUpload_skips_the_delay_and_returns_the_file()
    {
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [8], 1, NewFile("f.txt")), Ct);

        FileItem? item = await _queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.Equal("f.txt", item!.Name);
        Assert.Equal(item, await _queue.WaitForUploadAsync(key, Ct));
    }

    [Fact]
    public async Task Drain_uploads_everything_now_and_reports_progress()
    {
        var keys = Enumerable.Range(0, 6).Select(_ => StagedFileKey.New()).ToArray();
        for (int i = 0; i < keys.Length; i++)
        {
            await _queue.EnqueueAsync(_cache.Stage(keys[i], [(byte)i], 1, NewFile($"d{i}.txt")), Ct);
        }

        var reports = new List<UploadQueueStatus>();
        await _queue.DrainAsync(new SyncProgress(reports), Ct).WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.Equal(6, _server.Files.Count);
        Assert.Equal(6, reports[0].PendingCount);
        Assert.Equal(0, reports[^1].PendingCount);
        Assert.Empty(Directory.GetFiles(_cache.Journal));
    }

    [Fact]
    public async Task Enqueue_of_a_missing_staged_file_fails_at_once_and_records_nothing()
    {
        var request = new UploadRequest(StagedFileKey.New(), NewFile("x"), Path.Combine(_cache.Staging, "missing"), 1, 1);

        await Assert.ThrowsAsync<FileNotFoundException>(() => _queue.EnqueueAsync(request, Ct).AsTask());

        Assert.Empty(Directory.GetFiles(_cache.Journal));
        Assert.Equal(0, _queue.PendingCount);
    }

    [Fact]
    public async Task Rename_while_the_old_name_was_landing_moves_the_content_and_trashes_the_stray()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, _) =>
        {
            // The server commits the first upload whatever the client cancels meanwhile.
            if (op == "small" && entered.TrySetResult())
            {
                await release.Task;
            }
        };
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1, 2], 1, NewFile("tmp~")), Ct);
        _clock.Advance(s_delay);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        await _queue.RetargetAsync(key, NewFile("final.txt"), Ct);
        release.SetResult();

        // The delay had passed already, so the new target goes up at once; the stray is trashed after it landed.
        await Eventually.TrueAsync(() => !_events.Uploaded.IsEmpty && _server.Files.Any(f => f.IsDeleted), "landed and stray trashed");

        Assert.Equal("final.txt", Assert.Single(_events.Uploaded).Item.Name);
        Assert.Equal([1, 2], _server.FindByName("final.txt")!.Content);
        Assert.Null(_server.FindByName("tmp~"));
    }

    [Fact]
    public async Task Unlink_while_the_upload_was_landing_trashes_what_landed()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, _) =>
        {
            if (op == "small" && entered.TrySetResult())
            {
                await release.Task;
            }
        };
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1], 1, NewFile("doomed.txt")), Ct);
        _clock.Advance(s_delay);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Task cancel = _queue.CancelAsync(key, Ct).AsTask();
        release.SetResult();
        await cancel.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.True(Assert.Single(_server.Files).IsDeleted, "what landed is trashed before CancelAsync returns");
        Assert.Empty(_events.Uploaded);
        Assert.Empty(Directory.GetFiles(_cache.Journal));
    }

    [Fact]
    public async Task Unlink_during_an_upload_whose_answer_was_lost_trashes_the_committed_file()
    {
        Task committed = LoseTheAnswerOfTheFirstSmallPost();
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [3, 1, 4], 1, NewFile("lost-answer.txt")), Ct);
        _clock.Advance(s_delay);
        await committed.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        await _queue.CancelAsync(key, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.True(Assert.Single(_server.Files).IsDeleted, "the committed file is trashed before CancelAsync returns");
        Assert.Empty(_events.Uploaded);
        Assert.Empty(Directory.GetFiles(_cache.Journal));
    }

    [Fact]
    public async Task Hold_after_a_lost_answer_makes_the_next_generation_replace_the_committed_file()
    {
        Task committed = LoseTheAnswerOfTheFirstSmallPost();
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1], 1, NewFile("lost.txt")), Ct);
        _clock.Advance(s_delay);
        await committed.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        _queue.Hold(key);
        await Eventually.TrueAsync(() => _queue.GetStatus().Items.Single().State == UploadState.Held && _server.SmallUploads == 1, "held");
        await _queue.EnqueueAsync(_cache.Stage(key, [2], 2, NewFile("lost.txt")), Ct);
        FileItem? item = await _queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.Equal((2L, 2L), (item!.Version, Assert.Single(_events.Uploaded).Generation));
        StoredFileAssert(Assert.Single(_server.Files), [2], version: 2);
        Assert.Empty(_events.Failed);
    }

    [Fact]
    public async Task Rename_after_a_lost_answer_trashes_the_file_committed_under_the_old_name()
    {
        Task committed = LoseTheAnswerOfTheFirstSmallPost();
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [7, 7], 1, NewFile("draft~")), Ct);
        _clock.Advance(s_delay);
        await committed.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        await _queue.RetargetAsync(key, NewFile("final.md"), Ct);
        FileItem? item = await _queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(15), Ct);

        Assert.Equal("final.md", item!.Name);
        Assert.Null(_server.FindByName("draft~"));
        Assert.Equal([7, 7], _server.FindByName("final.md")!.Content);
    }

    [Fact]
    public async Task A_post_abandoned_by_a_rename_that_commits_later_is_trashed_when_another_file_needs_its_name()
    {
        // The abandoned POST commits only after the cancel's probe found the name free, and never answers: a new file
        // that then wants the name must get it (the stray goes to the trash), not become a conflict copy.
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int smallCalls = 0, committedCalls = 0;
        _server.Hook = async (op, ct) =>
        {
            if (op == "small" && Interlocked.Increment(ref smallCalls) == 1)
            {
                entered.TrySetResult();
                await release.Task;
            }
            else if (op == "small-committed" && Interlocked.Increment(ref committedCalls) == 2)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
        };
        var first = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(first, [1], 1, NewFile("x")), Ct);
        _clock.Advance(s_delay);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        await _queue.RetargetAsync(first, NewFile("y"), Ct);
        await Eventually.TrueAsync(() => _events.Uploaded.Count == 1, "the renamed file landed at its new name");
        Assert.Null(_server.FindByName("x"));
        release.SetResult();
        await Eventually.TrueAsync(() => _server.FindByName("x") is not null, "the abandoned POST committed late");

        var second = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(second, [2], 1, NewFile("x")), Ct);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => _events.Uploaded.Count == 2, "the new file landed");

        Assert.Empty(_events.Failed);
        Assert.Equal([2], _server.FindByName("x")!.Content);
        Assert.Equal([1], _server.FindByName("y")!.Content);
        Assert.Equal(2, _server.Files.Count(f => !f.IsDeleted));
    }

    [Fact]
    public async Task A_cancelled_upload_that_landed_anyway_becomes_the_base_of_the_next_generation()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, _) =>
        {
            if (op == "small" && entered.TrySetResult())
            {
                await release.Task;
            }
        };
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [1], 1, NewFile("race.txt")), Ct);
        _clock.Advance(s_delay);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        _queue.Hold(key);
        release.SetResult();
        await Eventually.TrueAsync(() => _queue.GetStatus().UploadingCount == 0 && !_events.Uploaded.IsEmpty, "generation 1 landed");
        await _queue.EnqueueAsync(_cache.Stage(key, [2], 2, NewFile("race.txt")), Ct);
        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => _events.Uploaded.Count == 2, "generation 2 landed");

        StoredFileAssert(_server.FindByName("race.txt")!, [2], version: 2);
        Assert.Single(_server.Files);
        Assert.Empty(_events.Failed);
    }

    [Fact]
    public async Task A_replaced_file_deleted_elsewhere_sends_the_content_to_recovery()
    {
        FileItem gone = _server.Seed("deleted.txt", [1]);
        await _server.DeleteFileAsync(gone.Id, Ct);
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, [4, 5, 6], 1, Replace(gone)), Ct);

        _clock.Advance(s_delay);
        await Eventually.TrueAsync(() => !_events.Failed.IsEmpty, "failure reported");

        UploadFailure failure = Assert.Single(_events.Failed).Failure;
        Assert.Equal((ScaiDriveErrorKind.NotFound, UploadFailureDisposition.MovedToRecovery), (failure.Kind, failure.Disposition));
        Assert.Equal([4, 5, 6], File.ReadAllBytes(failure.RecoveryPath!));
        Assert.True(File.Exists(Path.Combine(_cache.Staging, key.Value)), "the staged file stays the façade's");
    }

    [Fact]
    public async Task Status_shows_the_bytes_sent_of_an_upload_in_flight()
    {
        _queue = await SwapQueueAsync(smallThreshold: 0);
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Hook = async (op, ct) =>
        {
            if (op == "chunk" && _server.ChunksSent == 2)
            {
                stalled.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }
        };
        var key = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(key, new byte[_server.ChunkSize * 4], 1, NewFile("progress.bin")), Ct);
        _clock.Advance(s_delay);
        await stalled.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

        UploadQueueStatus status = _queue.GetStatus();

        Assert.Equal((1, 1, _server.ChunkSize * 4L), (status.PendingCount, status.UploadingCount, status.PendingBytes));
        Assert.Equal(_server.ChunkSize * 2L, status.InFlightBytesUploaded);
        Assert.Equal(UploadState.Uploading, Assert.Single(status.Items).State);
    }

    [Fact]
    public async Task Drain_returns_with_held_keys_still_pending_and_says_so()
    {
        var held = StagedFileKey.New();
        var free = StagedFileKey.New();
        await _queue.EnqueueAsync(_cache.Stage(held, [1], 1, NewFile("held.txt")), Ct);
        await _queue.EnqueueAsync(_cache.Stage(free, [2], 1, NewFile("free.txt")), Ct);
        _queue.Hold(held);

        await _queue.DrainAsync(null, Ct).WaitAsync(TimeSpan.FromSeconds(15), Ct);

        UploadQueueStatus status = _queue.GetStatus();
        Assert.Equal((1, 1), (status.PendingCount, status.HeldCount));
        Assert.Equal(held, Assert.Single(status.Items).Key);
        Assert.NotNull(_server.FindByName("free.txt"));
        Assert.Null(_server.FindByName("held.txt"));
    }

    private static void StoredFileAssert(FakeUploadServer.StoredFile file, byte[] content, long version)
    {
        Assert.Equal(content, file.Content);
        Assert.Equal(version, file.Version);
    }

    private async Task<UploadQueue> SwapQueueAsync(long smallThreshold)
    {
        await _queue.DisposeAsync();
        UploadQueue queue = NewQueue(smallThreshold);
        _events = new QueueEvents(queue);
        return queue;
    }

    private sealed class SyncProgress(List<UploadQueueStatus> into) : IProgress<UploadQueueStatus>
    {
        public void Report(UploadQueueStatus value)
        {
            lock (into)
            {
                into.Add(value);
            }
        }
    }
}
