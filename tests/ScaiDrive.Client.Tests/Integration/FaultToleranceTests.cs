using System.Security.Cryptography;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Integration;

/// <summary>
/// The client against the local server with fault injection on (503s, 429s with Retry-After, connection resets
/// part-way through responses): large transfers complete with the right bytes, creates do not duplicate.
/// </summary>
public sealed class FaultToleranceTests : IAsyncLifetime
{
    private const int ChunkSize = 4 * 1024 * 1024;
    private readonly CapturingLoggerFactory _loggers = new();
    private LocalServer _server = null!;
    private ScaiDriveClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await LocalServer.StartAsync(ct: Ct);
        _client = Clients.For(_server, loggers: _loggers, maxRetries: 10);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private ShareId Share => new(_server.DefaultShareId);

    [Fact]
    public async Task LargeUploadAndDownload_UnderFaults_MatchSha256()
    {
        byte[] content = RandomNumberGenerator.GetBytes((6 * ChunkSize) + 12345);
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        await _server.SetFaultsAsync(errorRate: 0.20, rate429: 0.05, resetRate: 0.02);

        var file = await _client.UploadResumableAsync(
            new CreateUploadSessionRequest(Share, null, "large.bin", content.Length) { ChecksumSha256 = sha },
            new RecordingSource(content),
            new ResumableUploadOptions { Parallelism = 4 },
            cancellationToken: Ct);
        Assert.Equal(sha, file.ChecksumSha256, ignoreCase: true);

        // Parallel ranged reads of 4 MiB, as the VFS does, straight into one buffer.
        byte[] downloaded = new byte[content.Length];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, (content.Length + ChunkSize - 1) / ChunkSize),
            new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Ct },
            async (i, ct) =>
            {
                int offset = i * ChunkSize;
                int length = Math.Min(ChunkSize, content.Length - offset);
                int read = await _client.ReadRangeAsync(file.Id, offset, downloaded.AsMemory(offset, length), expectedETag: sha, cancellationToken: ct);
                Assert.Equal(length, read);
            });
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(downloaded)));

        // And as one resuming stream.
        await using var stream = await _client.OpenReadAsync(file.Id, cancellationToken: Ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[256 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer, Ct)) > 0)
        {
            hash.AppendData(buffer, 0, n);
        }

        Assert.Equal(sha, Convert.ToHexStringLower(hash.GetHashAndReset()));
        // The faults were really there: the client retried.
        Assert.Contains(_loggers.Events, e => e.Id.Id == 3001);
    }

    [Fact]
    public async Task InterruptedResumableUpload_ResumesWithoutResendingFinishedChunks()
    {
        byte[] content = RandomNumberGenerator.GetBytes((5 * ChunkSize) + 999);
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        var request = new CreateUploadSessionRequest(Share, null, "resumed.bin", content.Length) { ChecksumSha256 = sha };

        // First run: one chunk at a time, and the local source fails on chunk 3 (as a crash half-way would).
        UploadSessionId? journaled = null;
        var first = new RecordingSource(content, failAt: offset => offset == 3L * ChunkSize);
        await Assert.ThrowsAsync<IOException>(() => _client.UploadResumableAsync(
            request,
            first,
            new ResumableUploadOptions { Parallelism = 1, OnSessionReady = (s, _) => { journaled = s.Id; return ValueTask.CompletedTask; } },
            cancellationToken: Ct));
        Assert.NotNull(journaled);
        var session = await _client.GetUploadSessionAsync(journaled.Value, Ct);
        Assert.Equal([0, 1, 2], session.ReceivedChunks.Order());

        // Second run, with faults on: resumes the journaled session and reads (so sends) only chunks 3..5.
        await _server.SetFaultsAsync(errorRate: 0.20, rate429: 0.05, resetRate: 0.02);
        var second = new RecordingSource(content);
        var progress = new List<long>();
        var file = await _client.UploadResumableAsync(
            request,
            second,
            new ResumableUploadOptions { Parallelism = 4, ExistingSessionId = journaled },
            new InlineProgress(progress),
            Ct);

        Assert.Equal(sha, file.ChecksumSha256, ignoreCase: true);
        Assert.Equal([3L * ChunkSize, 4L * ChunkSize, 5L * ChunkSize], second.Offsets.Distinct().Order());
        Assert.Equal(3L * ChunkSize, progress[0]);
        Assert.Equal(content.Length, progress.Max());
    }

    [Fact]
    public async Task Creates_UnderResets_NeitherFailNorDuplicate()
    {
        // Resets cut the response after the server did the work: the client must check before creating again.
        await _server.SetFaultsAsync(resetRate: 0.3);
        var folder = await _client.CreateFolderAsync(Share, null, "probe", Ct);
        var names = new List<string>();
        for (int i = 0; i < 8; i++)
        {
            await _client.CreateFolderAsync(Share, folder.Id, $"dir{i}", Ct);
            await _client.UploadSmallFileAsync(Share, folder.Id, $"file{i}.txt", RandomNumberGenerator.GetBytes(100 + i), Ct);
            names.Add($"dir{i}");
            names.Add($"file{i}.txt");
        }

        var source = await _client.UploadSmallFileAsync(Share, null, "source.txt", "copy me"u8.ToArray(), Ct);
        for (int i = 0; i < 4; i++)
        {
            await _client.CopyFileAsync(source.Id, folder.Id, null, $"copy{i}.txt", Ct);
            names.Add($"copy{i}.txt");
        }

        await _server.SetFaultsAsync();
        var listing = await _client.ListChildrenAsync(Share, folder.Id, cancellationToken: Ct);
        var seen = listing.Folders.Select(f => f.Name).Concat(listing.Files.Select(f => f.Name)).Order().ToArray();
        Assert.Equal(names.Order(), seen);
        // Some responses were lost and the client checked before creating again.
        Assert.Contains(_loggers.Events, e => e.Id.Id == 3005);
    }

    private sealed class InlineProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
