using System.Collections.Concurrent;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

/// <summary>A temp cache directory (staging, journal, recovery), removed on dispose.</summary>
internal sealed class TempCache : IDisposable
{
    public TempCache()
    {
        Root = Path.Combine(Path.GetTempPath(), "sdfs-upload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Staging);
        Directory.CreateDirectory(Journal);
    }

    public string Root { get; }

    public string Staging => Path.Combine(Root, "staging");

    public string Journal => Path.Combine(Root, "journal");

    public string Recovery => Path.Combine(Root, "recovery");

    public UploadQueueOptions Options(TimeSpan? delay = null, long smallThreshold = 8L * 1024 * 1024) => new()
    {
        JournalDirectory = Journal,
        RecoveryDirectory = Recovery,
        WriteBackDelay = delay ?? TimeSpan.FromSeconds(1),
        SmallUploadThreshold = smallThreshold,
        FileParallelism = 4,
        ChunkParallelism = 4,
    };

    /// <summary>Writes a staged file as the façade would and returns the request for it.</summary>
    public UploadRequest Stage(StagedFileKey key, byte[] content, long generation, UploadTarget target)
    {
        string path = Path.Combine(Staging, key.Value);
        File.WriteAllBytes(path, content);
        return new UploadRequest(key, target, path, content.Length, generation);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>Collects the queue's events for assertions.</summary>
internal sealed class QueueEvents
{
    public readonly ConcurrentQueue<(StagedFileKey Key, long Generation, FileItem Item)> Uploaded = new();
    public readonly ConcurrentQueue<(StagedFileKey Key, UploadFailure Failure)> Failed = new();

    public QueueEvents(UploadQueue queue)
    {
        queue.Uploaded += (key, generation, item) => Uploaded.Enqueue((key, generation, item));
        queue.Failed += (key, failure) => Failed.Enqueue((key, failure));
    }
}

internal static class Eventually
{
    /// <summary>Polls (real time) until <paramref name="condition"/> holds; the queue works on the thread pool.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, int timeoutMs = 15_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out waiting for: " + what);
            }

            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>
/// Base of the upload-queue tests over real HTTP: a local server, a client with short backoffs and a temp cache
/// directory, made before each test and removed after it.
/// </summary>
public abstract class ServerBackedQueueTest : IAsyncLifetime
{
    private protected TempCache Cache { get; } = new();

    private protected LocalServer Server { get; private set; } = null!;

    private protected ScaiDriveClient Client { get; private set; } = null!;

    private protected ShareId Share { get; private set; }

    private protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Server = await LocalServer.StartAsync(ct: Ct);
        Client = new ScaiDriveClient(new ScaiDriveClientOptions
        {
            BaseUrl = Server.BaseUrl,
            Credentials = new ScaiDriveCredentials { AccessToken = Server.OwnerToken },
            BaseBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(200),
        });
        Share = new ShareId(Server.DefaultShareId);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        Cache.Dispose();
    }
}
