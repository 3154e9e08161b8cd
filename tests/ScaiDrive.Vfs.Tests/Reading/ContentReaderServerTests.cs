using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>The reader through the real client against the local server over HTTP.</summary>
public sealed class ContentReaderServerTests : IAsyncLifetime
{
    private const int Block = 256 * 1024;

    private readonly TempDirectory _cache = new();
    private LocalServer _server = null!;
    private ScaiDriveClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await LocalServer.StartAsync(ct: TestContext.Current.CancellationToken);
        _client = new ScaiDriveClient(new ScaiDriveClientOptions
        {
            BaseUrl = _server.BaseUrl,
            Credentials = new ScaiDriveCredentials { AccessToken = _server.OwnerToken },
            BaseBackoff = TimeSpan.FromMilliseconds(5),
            MaxBackoff = TimeSpan.FromMilliseconds(50),
            MaxRetries = 10,
        });
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        _cache.Dispose();
    }

    private (ContentReader Reader, CountingContentSource Source) CreateReader(long diskLimit = 1L << 30, int randomFetchBytes = 128 * 1024)
    {
        var source = new CountingContentSource(new ClientContentSource(_client));
        var options = new ContentReaderOptions
        {
            CacheDirectory = _cache.Path,
            BlockSizeBytes = Block,
            MemoryBudgetBytes = 32 * Block,
            SmallFileThresholdBytes = 2 * Block,
            MaxReadAheadBytes = 16 * Block,
            MaxRequestBytes = 4 * Block,
            DiskLimitBytes = diskLimit,
            DiskWriteBacklogBytes = 32 * Block,
            RandomFetchBytes = randomFetchBytes,
        };
        return (new ContentReader(source, options, null, TimeProvider.System), source);
    }

    private async Task<(ContentKey Key, byte[] Data)> UploadAsync(string name, int size, int seed, FileId? replace = null)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        CancellationToken ct = TestContext.Current.CancellationToken;
        var share = new ShareId(_server.DefaultShareId);
        FileItem item = replace is null && size <= 4 * 1024 * 1024
            ? await _client.UploadSmallFileAsync(share, null, name, data, ct)
            : await _client.UploadResumableAsync(
                new CreateUploadSessionRequest(share, null, name, size) { ReplaceFileId = replace },
                new PatternUploadSource(size, data),
                cancellationToken: ct);
        Assert.Equal(size, item.Size);
        return (new ContentKey(item.Id, item.Version, item.Size, item.ChecksumSha256), data);
    }

    private static async Task<byte[]> ReadAllAsync(ContentReader reader, ContentKey key, int chunk)
    {
        var result = new byte[key.Size];
        ReadState state = reader.CreateReadState();
        long offset = 0;
        int n;
        while ((n = await reader.ReadAsync(key, offset, result.AsMemory((int)offset, (int)Math.Min(chunk, key.Size - offset)), state, TestContext.Current.CancellationToken)) > 0)
        {
            offset += n;
        }

        reader.Release(state);
        Assert.Equal(key.Size, offset);
        return result;
    }

    [Fact]
    public async Task RandomAndSequentialReadsMatchTheUploadedBytes()
    {
        (ContentKey key, byte[] data) = await UploadAsync("random.bin", (24 * Block) + 4321, 1);
        (ContentReader reader, _) = CreateReader();
        await using (reader)
        {
            var random = new Random(2);
            ReadState state = reader.CreateReadState();
            for (int i = 0; i < 150; i++)
            {
                int offset = random.Next(data.Length + 100);
                var buffer = new byte[random.Next(1, 3 * Block)];
                int n = await reader.ReadAsync(key, offset, buffer, state, TestContext.Current.CancellationToken);
                Assert.Equal(Math.Clamp(data.Length - offset, 0, buffer.Length), n);
                Assert.True(data.AsSpan(Math.Min(offset, data.Length), n).SequenceEqual(buffer.AsSpan(0, n)), $"bytes at {offset}+{n}");
            }

            Assert.Equal(data, await ReadAllAsync(reader, key, 128 * 1024));
        }
    }

    [Fact]
    public async Task EndOfFileAndSmallFiles()
    {
        (ContentKey small, byte[] smallData) = await UploadAsync("small.bin", Block + 17, 3);
        (ContentKey tiny, byte[] tinyData) = await UploadAsync("tiny.txt", 5, 4);
        (ContentReader reader, CountingContentSource source) = CreateReader();
        await using (reader)
        {
            CancellationToken ct = TestContext.Current.CancellationToken;
            ReadState state = reader.CreateReadState();
            var buffer = new byte[Block];
            Assert.Equal(17, await reader.ReadAsync(small, Block, buffer, state, ct));
            Assert.True(smallData.AsSpan(Block).SequenceEqual(buffer.AsSpan(0, 17)));
            Assert.Equal(0, await reader.ReadAsync(small, smallData.Length, buffer, state, ct));
            Assert.Equal(smallData, await ReadAllAsync(reader, small, 4096));
            Assert.Equal(1, source.Requests);

            Assert.Equal(5, await reader.ReadAsync(tiny, 0, buffer, state, ct));
            Assert.True(tinyData.AsSpan().SequenceEqual(buffer.AsSpan(0, 5)));
            Assert.Equal(2, await reader.ReadAsync(tiny, 3, buffer, state, ct));
            Assert.Equal(0, await reader.ReadAsync(tiny, 5, buffer, state, ct));
            Assert.Equal(2, source.Requests);
        }
    }

    [Fact]
    public async Task ConcurrentReadersOfOneBlockFetchItOnce()
    {
        (ContentKey key, byte[] data) = await UploadAsync("shared.bin", 16 * Block, 5);
        // Small reads at a seek fetch the aligned random-fetch unit around them; one block's worth makes it one unit.
        (ContentReader reader, CountingContentSource source) = CreateReader(randomFetchBytes: Block);
        await using (reader)
        {
            Task<byte[]>[] reads = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
            {
                var buffer = new byte[8192];
                int n = await reader.ReadAsync(key, (7 * Block) + (i * 9000), buffer, reader.CreateReadState(), TestContext.Current.CancellationToken);
                Assert.Equal(buffer.Length, n);
                return buffer;
            }, TestContext.Current.CancellationToken)).ToArray();

            for (int i = 0; i < reads.Length; i++)
            {
                byte[] read = await reads[i];
                Assert.True(data.AsSpan((7 * Block) + (i * 9000), 8192).SequenceEqual(read));
            }

            Assert.Equal(1, source.Requests);
        }
    }

    [Fact]
    public async Task ServerFaultsStillGiveCorrectBytes()
    {
        (ContentKey key, byte[] data) = await UploadAsync("faults.bin", 40 * Block, 6);
        await _server.SetFaultsAsync(errorRate: 0.15, resetRate: 0.15);
        try
        {
            (ContentReader reader, _) = CreateReader();
            await using (reader)
            {
                Assert.Equal(data, await ReadAllAsync(reader, key, 128 * 1024));
            }

            // Random access on a cold cache goes through demand fetches only.
            _cache.Dispose();
            Directory.CreateDirectory(_cache.Path);
            (reader, _) = CreateReader();
            await using (reader)
            {
                var random = new Random(9);
                for (int i = 0; i < 40; i++)
                {
                    int offset = random.Next(data.Length);
                    var buffer = new byte[random.Next(1, Block)];
                    int n = await reader.ReadAsync(key, offset, buffer, reader.CreateReadState(), TestContext.Current.CancellationToken);
                    Assert.True(data.AsSpan(offset, n).SequenceEqual(buffer.AsSpan(0, n)));
                }
            }
        }
        finally
        {
            await _server.SetFaultsAsync();
        }
    }

    [Fact]
    public async Task NewVersionOnTheServerGivesContentChangedNeverMixedBytes()
    {
        (ContentKey v1, byte[] data1) = await UploadAsync("versions.bin", 12 * Block, 7);
        ContentKey v2;
        byte[] data2;
        (ContentReader reader, _) = CreateReader();
        await using (reader)
        {
            CancellationToken ct = TestContext.Current.CancellationToken;
            var buffer = new byte[Block];
            Assert.Equal(Block, await reader.ReadAsync(v1, 0, buffer, reader.CreateReadState(), ct));
            Assert.True(data1.AsSpan(0, Block).SequenceEqual(buffer));

            (v2, data2) = await UploadAsync("versions.bin", 12 * Block, 8, replace: v1.FileId);
            Assert.Equal(v1.FileId, v2.FileId);
            Assert.True(v2.Version > v1.Version);

            // Not cached yet: the server has moved on, and the old key says so instead of returning v2 bytes.
            var error = await Assert.ThrowsAsync<ScaiDriveApiException>(() => reader.ReadAsync(v1, 6 * Block, buffer, reader.CreateReadState(), ct).AsTask());
            Assert.Equal(ScaiDriveErrorKind.ContentChanged, error.Kind);

            Assert.Equal(data2, await ReadAllAsync(reader, v2, 100_000));
        }

        // After a remount the disk tier holds v2 only: v2 is served without requests, v1 is not served from disk.
        (ContentReader remounted, CountingContentSource source) = CreateReader();
        await using (remounted)
        {
            Assert.Equal(data2, await ReadAllAsync(remounted, v2, 100_000));
            Assert.Equal(0, source.Requests);
            await Assert.ThrowsAsync<ScaiDriveApiException>(() => remounted.ReadAsync(v1, 0, new byte[10], remounted.CreateReadState(), TestContext.Current.CancellationToken).AsTask());
        }
    }

    [Fact]
    public async Task DiskTierServesARemountWithoutRequests()
    {
        (ContentKey key, byte[] data) = await UploadAsync("persist.bin", (10 * Block) + 3, 10);
        (ContentReader first, _) = CreateReader();
        await using (first)
        {
            Assert.Equal(data, await ReadAllAsync(first, key, 128 * 1024));
        }

        (ContentReader second, CountingContentSource source) = CreateReader();
        await using (second)
        {
            Assert.Equal(data, await ReadAllAsync(second, key, 128 * 1024));
            Assert.Equal(0, source.Requests);
        }
    }
}
