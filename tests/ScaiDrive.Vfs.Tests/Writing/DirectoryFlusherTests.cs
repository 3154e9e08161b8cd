using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

public sealed class DirectoryFlusherTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Callers_arriving_during_an_fsync_share_the_next_one_and_never_the_running_one()
    {
        var started = new SemaphoreSlim(0);
        var release = new SemaphoreSlim(0);
        int calls = 0;
        var flusher = new DirectoryFlusher("/d", _ =>
        {
            Interlocked.Increment(ref calls);
            started.Release();
            Assert.True(release.Wait(s_timeout));
        });

        Task first = flusher.FlushAsync();
        Assert.True(await started.WaitAsync(s_timeout, TestContext.Current.CancellationToken));

        // These arrive while the first fsync runs: it may have started before their change, so they must wait for another.
        Task[] later = [flusher.FlushAsync(), flusher.FlushAsync(), flusher.FlushAsync()];
        Assert.False(first.IsCompleted);
        release.Release();
        await first.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.All(later, t => Assert.False(t.IsCompleted));

        Assert.True(await started.WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        release.Release();
        await Task.WhenAll(later).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.Equal(2, Volatile.Read(ref calls));

        // Idle again: the next caller starts its own fsync.
        release.Release();
        await flusher.FlushAsync().WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.Equal(3, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task An_fsync_error_reaches_every_caller_of_that_batch_and_the_flusher_recovers()
    {
        int calls = 0;
        var flusher = new DirectoryFlusher("/d", _ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new IOException("disk gone");
            }
        });

        await Assert.ThrowsAsync<IOException>(() => flusher.FlushAsync().WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        await flusher.FlushAsync().WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Flushes_a_real_directory_and_reports_a_missing_one()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sdfs-flusher-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            await new DirectoryFlusher(dir).FlushAsync().WaitAsync(s_timeout, TestContext.Current.CancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                await Assert.ThrowsAsync<IOException>(() => new DirectoryFlusher(Path.Combine(dir, "missing")).FlushAsync());
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
