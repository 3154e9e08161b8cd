using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

/// <summary>
/// The background SHA-256 of a staged file written in order: offered only when it describes exactly the bytes on
/// disk, given up on any rewrite, gap or cut below what it hashed, and never trusted by the upload without the
/// server's check.
/// </summary>
public sealed class SequentialContentHashTests : IDisposable
{
    private const int MiB = 1024 * 1024;

    private readonly TempCache _cache = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _cache.Dispose();

    private StagedFile NewStaged() => StagedFile.Create(_cache.Staging, StagedFileKey.New(), DateTimeOffset.UtcNow);

    private static string Sha(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static string ShaOfFile(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static void WriteInPieces(StagedFile staged, byte[] content, int seed)
    {
        var random = new Random(seed);
        int offset = 0;
        while (offset < content.Length)
        {
            int piece = Math.Min(content.Length - offset, random.Next(1, 300_000));
            staged.Write(offset, content.AsSpan(offset, piece), DateTimeOffset.UtcNow);
            offset += piece;
        }
    }

    [Fact]
    public async Task An_in_order_write_in_odd_pieces_is_hashed_exactly()
    {
        using StagedFile staged = NewStaged();
        byte[] content = Eventually.Bytes((9 * MiB) + 12345, 1);
        WriteInPieces(staged, content, 1);

        SequentialContentHash tracker = Assert.IsType<SequentialContentHash>(staged.SequentialHashOfCurrentContent);
        Assert.Equal(Sha(content), await tracker.GetSha256Async(content.Length, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct));

        // A shorter length than what was written is not something it can answer.
        Assert.Null(await tracker.GetSha256Async(content.Length - 1, Ct));
    }

    [Fact]
    public async Task Appending_after_a_first_answer_gives_the_longer_hash()
    {
        using StagedFile staged = NewStaged();
        byte[] content = Eventually.Bytes(12 * MiB, 2);
        staged.Write(0, content.AsSpan(0, 6 * MiB), DateTimeOffset.UtcNow);
        Assert.Equal(Sha(content.AsSpan(0, 6 * MiB)), await staged.SequentialHashOfCurrentContent!.GetSha256Async(6 * MiB, Ct));

        staged.Write(6 * MiB, content.AsSpan(6 * MiB), DateTimeOffset.UtcNow);
        Assert.Equal(Sha(content), await staged.SequentialHashOfCurrentContent!.GetSha256Async(content.Length, Ct));
    }

    [Fact]
    public async Task A_rewrite_of_hashed_bytes_gives_up()
    {
        using StagedFile staged = NewStaged();
        byte[] content = Eventually.Bytes(8 * MiB, 3);
        staged.Write(0, content, DateTimeOffset.UtcNow);
        SequentialContentHash tracker = staged.SequentialHashOfCurrentContent!;
        Assert.NotNull(await tracker.GetSha256Async(content.Length, Ct));

        staged.Write(100, "changed"u8, DateTimeOffset.UtcNow);

        Assert.Null(staged.SequentialHashOfCurrentContent);
        Assert.Null(await tracker.GetSha256Async(content.Length, Ct));
    }

    [Fact]
    public void A_gap_or_an_extension_with_zeros_gives_up()
    {
        using StagedFile gap = NewStaged();
        gap.Write(0, Eventually.Bytes(5 * MiB, 4), DateTimeOffset.UtcNow);
        gap.Write((6 * MiB) + 1, "x"u8, DateTimeOffset.UtcNow);
        Assert.Null(gap.SequentialHashOfCurrentContent);

        using StagedFile extended = NewStaged();
        extended.Write(0, Eventually.Bytes(5 * MiB, 5), DateTimeOffset.UtcNow);
        extended.SetLength(7 * MiB, DateTimeOffset.UtcNow);
        Assert.Null(extended.SequentialHashOfCurrentContent);
    }

    [Fact]
    public async Task Truncate_to_empty_starts_over_and_the_rewrite_is_hashed()
    {
        using StagedFile staged = NewStaged();
        staged.Write(0, Eventually.Bytes(6 * MiB, 6), DateTimeOffset.UtcNow);
        Assert.NotNull(await staged.SequentialHashOfCurrentContent!.GetSha256Async(6 * MiB, Ct));
        staged.Write(10, "rewrite"u8, DateTimeOffset.UtcNow);
        Assert.Null(staged.SequentialHashOfCurrentContent);

        staged.SetLength(0, DateTimeOffset.UtcNow);
        byte[] content = Eventually.Bytes(7 * MiB, 7);
        WriteInPieces(staged, content, 7);

        Assert.Equal(Sha(content), await staged.SequentialHashOfCurrentContent!.GetSha256Async(content.Length, Ct));
    }

    [Fact]
    public async Task A_cut_below_the_hashed_bytes_gives_up_and_wakes_a_waiter()
    {
        using StagedFile staged = NewStaged();
        staged.Write(0, Eventually.Bytes(8 * MiB, 8), DateTimeOffset.UtcNow);
        SequentialContentHash tracker = staged.SequentialHashOfCurrentContent!;
        Assert.NotNull(await tracker.GetSha256Async(8 * MiB, Ct));

        staged.SetLength(5 * MiB, DateTimeOffset.UtcNow);

        Assert.Null(staged.SequentialHashOfCurrentContent);
        Assert.Null(await tracker.GetSha256Async(5 * MiB, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public async Task Whatever_it_answers_under_racing_rewrites_is_the_hash_of_the_file(int seed)
    {
        // The pump reads while the writer appends and sometimes rewrites just behind the end: every answer it gives
        // must be the SHA-256 of the bytes on disk at that moment (the writer is paused while we ask, as the content
        // gate pauses writes while the façade enqueues).
        var random = new Random(seed);
        using StagedFile staged = NewStaged();
        long length = 0;
        int answers = 0;
        for (int step = 0; step < 60; step++)
        {
            byte[] piece = new byte[random.Next(64 * 1024, 512 * 1024)];
            random.NextBytes(piece);
            long offset = random.Next(10) == 0 && length > piece.Length ? length - random.Next(1, piece.Length) : length;
            staged.Write(offset, piece, DateTimeOffset.UtcNow);
            length = Math.Max(length, offset + piece.Length);
            if (random.Next(6) == 0 && staged.SequentialHashOfCurrentContent is { } tracker)
            {
                string? sha = await tracker.GetSha256Async(staged.Length, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
                if (sha is not null)
                {
                    Assert.Equal(ShaOfFile(staged.Path), sha);
                    answers++;
                }
            }
        }

        // Not a test that cannot fail: it only asserts on answers given, so make sure some were.
        Assert.True(answers > 0 || staged.SequentialHashOfCurrentContent is null);
    }
}

/// <summary>The queue's use of the hint against the real server: used when right, harmless when wrong.</summary>
public sealed class SequentialHashUploadTests : ServerBackedQueueTest
{
    private const int MiB = 1024 * 1024;

    private UploadQueueOptions Options() => Cache.Options(TimeSpan.FromMilliseconds(20), smallThreshold: 1 * MiB) with
    {
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        RetryMaxDelay = TimeSpan.FromMilliseconds(200),
    };

    private async Task<byte[]> DownloadAsync(FileId id)
    {
        await using Stream stream = await Client.OpenReadAsync(id, cancellationToken: Ct);
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory, Ct);
        return memory.ToArray();
    }

    [Fact]
    public async Task A_file_written_in_order_uploads_with_the_background_hash()
    {
        await using var queue = new UploadQueue(Client, Options(), null, TimeProvider.System);
        var key = StagedFileKey.New();
        using StagedFile staged = StagedFile.Create(Cache.Staging, key, DateTimeOffset.UtcNow);
        byte[] content = Eventually.Bytes((10 * MiB) + 7, 21);
        staged.Write(0, content, DateTimeOffset.UtcNow);
        SequentialContentHash hint = Assert.IsType<SequentialContentHash>(staged.SequentialHashOfCurrentContent);

        var request = new UploadRequest(key, new UploadTarget(Share, null, "ordered.bin", null, null), staged.Path, staged.Length, 1) { ContentHash = hint };
        await queue.EnqueueAsync(request, Ct);
        FileItem item = (await queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct))!;

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), item.ChecksumSha256);
        Assert.Equal(content, await DownloadAsync(item.Id));
    }

    [Fact]
    public async Task A_stale_hint_is_caught_by_the_server_and_the_queue_hashes_again()
    {
        await using var queue = new UploadQueue(Client, Options(), null, TimeProvider.System);
        var events = new QueueEvents(queue);
        var key = StagedFileKey.New();
        using StagedFile staged = StagedFile.Create(Cache.Staging, key, DateTimeOffset.UtcNow);
        byte[] content = Eventually.Bytes(9 * MiB, 22);
        staged.Write(0, content, DateTimeOffset.UtcNow);
        SequentialContentHash hint = staged.SequentialHashOfCurrentContent!;
        Assert.NotNull(await hint.GetSha256Async(content.Length, Ct));

        // Bytes changed behind the tracker's back (not through StagedFile): its answer is now wrong.
        using (FileStream sneaky = new(staged.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            sneaky.Position = 5 * MiB;
            sneaky.Write("behind its back"u8);
        }

        byte[] expected = await File.ReadAllBytesAsync(staged.Path, Ct);
        var request = new UploadRequest(key, new UploadTarget(Share, null, "stale.bin", null, null), staged.Path, staged.Length, 1) { ContentHash = hint };
        await queue.EnqueueAsync(request, Ct);
        FileItem item = (await queue.WaitForUploadAsync(key, Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct))!;

        Assert.Equal(expected, await DownloadAsync(item.Id));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected)), item.ChecksumSha256);
        Assert.Empty(events.Failed);
        Assert.Equal(0L, queue.GetStatus().TransientErrors); // put right within the attempt, not retried as an error
    }
}
