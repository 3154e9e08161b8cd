using ScaiDrive.Client;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

public sealed class UploadJournalTests : IDisposable
{
    private readonly TempCache _cache = new();

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task Write_then_load_round_trips_every_field()
    {
        var journal = new UploadJournal(_cache.Journal);
        var request = new UploadRequest(
            new StagedFileKey("stg_abc"),
            new UploadTarget(new ShareId("shr_1"), new FolderId("fld_2"), "päper (1).txt", new FileId("fil_3"), new VersionId("ver_4")),
            "/tmp/x",
            1234,
            7);
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        JournalRecord record = JournalRecord.From(request, at) with
        {
            SessionId = "ups_9",
            SessionGeneration = 7,
            AttemptedSha256 = "ab",
            StrayFileId = "fil_8",
            ConflictOf = "VersionConflict",
        };

        await journal.WriteAsync(record, TestContext.Current.CancellationToken);

        JournalRecord loaded = Assert.Single(journal.LoadAll());
        Assert.Equal(record, loaded);
        Assert.Equal(request, loaded.ToRequest());
        Assert.Equal(new UploadSessionId("ups_9"), loaded.ResumableSession);
        Assert.Empty(Directory.GetFiles(_cache.Journal, "*.tmp"));
    }

    [Fact]
    public async Task Session_of_an_older_generation_is_not_resumable()
    {
        var journal = new UploadJournal(_cache.Journal);
        JournalRecord record = NewRecord("stg_a", 3) with { SessionId = "ups_1", SessionGeneration = 2 };
        await journal.WriteAsync(record, TestContext.Current.CancellationToken);

        Assert.Null(Assert.Single(journal.LoadAll()).ResumableSession);
    }

    [Fact]
    public async Task Rewrite_replaces_the_record_and_load_orders_by_enqueue_time()
    {
        var journal = new UploadJournal(_cache.Journal);
        var t0 = DateTimeOffset.UnixEpoch;
        await journal.WriteAsync(NewRecord("stg_b", 1) with { EnqueuedAt = t0.AddSeconds(5) }, TestContext.Current.CancellationToken);
        await journal.WriteAsync(NewRecord("stg_a", 1) with { EnqueuedAt = t0.AddSeconds(1) }, TestContext.Current.CancellationToken);
        await journal.WriteAsync(NewRecord("stg_b", 2) with { EnqueuedAt = t0.AddSeconds(5) }, TestContext.Current.CancellationToken);

        IReadOnlyList<JournalRecord> all = journal.LoadAll();
        Assert.Equal(["stg_a", "stg_b"], all.Select(r => r.Key));
        Assert.Equal(2, all[1].Generation);
    }

    [Fact]
    public async Task Leftover_temp_file_is_discarded_and_the_old_record_kept()
    {
        var journal = new UploadJournal(_cache.Journal);
        await journal.WriteAsync(NewRecord("stg_a", 1), TestContext.Current.CancellationToken);

        // A crash between writing the temp file and renaming it.
        File.WriteAllText(journal.PathOf(new StagedFileKey("stg_a")) + ".tmp", "{ half a reco");

        JournalRecord loaded = Assert.Single(journal.LoadAll());
        Assert.Equal(1, loaded.Generation);
        Assert.Empty(Directory.GetFiles(_cache.Journal, "*.tmp"));
    }

    [Fact]
    public void Corrupt_record_is_set_aside_and_reported_not_dropped()
    {
        var journal = new UploadJournal(_cache.Journal);
        string path = journal.PathOf(new StagedFileKey("stg_bad"));
        File.WriteAllText(path, "{ not json");
        var reported = new List<string>();

        Assert.Empty(journal.LoadAll((p, _) => reported.Add(p)));

        Assert.Equal([path], reported);
        Assert.True(File.Exists(path + ".corrupt"));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Unsafe_keys_are_rejected(string key)
    {
        var journal = new UploadJournal(_cache.Journal);
        Assert.Throws<ArgumentException>(() => journal.PathOf(new StagedFileKey(key)));
    }

    [Fact]
    public void Delete_removes_the_record()
    {
        var journal = new UploadJournal(_cache.Journal);
        var key = new StagedFileKey("stg_a");
        File.WriteAllText(journal.PathOf(key), "{}");

        journal.Delete(key);

        Assert.False(journal.Exists(key));
    }

    [Fact]
    public void Directory_fsync_works_on_a_real_directory_and_fails_loudly_on_a_missing_one()
    {
        UploadJournal.FsyncDirectory(_cache.Journal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Throws<IOException>(() => UploadJournal.FsyncDirectory(Path.Combine(_cache.Root, "missing")));
        }
    }

    private static JournalRecord NewRecord(string key, long generation) => new()
    {
        Key = key,
        Generation = generation,
        ShareId = "shr_1",
        Name = "n",
        StagedPath = "/tmp/n",
        Length = 1,
    };
}
