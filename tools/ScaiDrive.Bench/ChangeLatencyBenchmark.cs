using System.Diagnostics;
using System.Globalization;
using System.Text;
using ScaiDrive.Client;

namespace ScaiDrive.Bench;

/// <summary>
/// Remote-change latency: a second client changes files through the API, and the mount is polled (open, read,
/// compare) until it shows each change. Even steps create a new file, odd steps upload a new version of it, so both
/// a new directory entry and new content of a known file are measured. The clock starts when the API call returns,
/// which is when the server has committed the change; polling every few milliseconds adds up to that much.
/// </summary>
internal static class ChangeLatencyBenchmark
{
    // A feature that is not there shows as a few timeouts in a row; waiting out the rest would only cost minutes.
    private const int MaxConsecutiveTimeouts = 3;

    public static async Task<Dictionary<string, object>> RunAsync(ScaiDriveClient client, ShareId share, BenchArguments args, CancellationToken cancellationToken)
    {
        string mount = args.Required("mount");
        int count = args.Int("count", 100);
        TimeSpan timeout = TimeSpan.FromSeconds(args.Int("timeout-s", 15));
        TimeSpan poll = TimeSpan.FromMilliseconds(args.Int("poll-ms", 5));

        string folderName = "bench-changes-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        FolderItem folder = await client.CreateFolderAsync(share, null, folderName, cancellationToken);
        string directory = Path.Combine(mount, folderName);
        if (await WaitAsync(() => Directory.Exists(directory), timeout * 2, poll, cancellationToken) is null)
        {
            throw new TimeoutException($"the folder made through the API did not show in the mount within {(timeout * 2).TotalSeconds:0} s");
        }

        var creates = new List<double>();
        var updates = new List<double>();
        int timeouts = 0;
        int consecutive = 0;
        FileItem? current = null;
        for (int i = 0; i < count && consecutive < MaxConsecutiveTimeouts; i++)
        {
            bool create = current is null || i % 2 == 0;
            byte[] content;
            if (create)
            {
                content = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"change {i}: a new file\n"));
                current = await client.UploadSmallFileAsync(share, folder.Id, $"c{i:D4}.txt", content, cancellationToken);
            }
            else
            {
                // A different length as well as different bytes, so even a size-only check would see it.
                content = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"change {i}: a new version of {current!.Name}, longer than the first\n"));
                current = await client.UploadResumableAsync(
                    new CreateUploadSessionRequest(share, folder.Id, current.Name, content.Length) { ReplaceFileId = current.Id, BaseVersionId = current.VersionId },
                    new MemorySource(content),
                    cancellationToken: cancellationToken);
            }

            string path = Path.Combine(directory, current.Name);
            TimeSpan? seen = await WaitAsync(() => Shows(path, content), timeout, poll, cancellationToken);
            if (seen is { } latency)
            {
                (create ? creates : updates).Add(latency.TotalMilliseconds);
                consecutive = 0;
            }
            else
            {
                timeouts++;
                consecutive++;
                await Console.Error.WriteLineAsync($"change {i} ({(create ? "create" : "update")} of {current.Name}) not seen within {timeout.TotalSeconds:0} s");
            }
        }

        try
        {
            await client.DeleteFolderAsync(folder.Id, permanent: true, cancellationToken);
        }
        catch (ScaiDriveApiException ex)
        {
            await Console.Error.WriteLineAsync($"could not delete {folderName}: {ex.Message}");
        }

        List<double> all = [.. creates, .. updates];
        all.Sort();
        return new Dictionary<string, object>
        {
            ["count"] = count,
            ["visible"] = all.Count,
            ["timeouts"] = timeouts,
            ["timeout_s"] = timeout.TotalSeconds,
            ["poll_ms"] = poll.TotalMilliseconds,
            // A change never seen is at least the timeout: the worst figure says so rather than hiding it.
            ["median_ms"] = all.Count == 0 ? timeout.TotalMilliseconds : Median(all),
            ["worst_ms"] = timeouts > 0 ? timeout.TotalMilliseconds : all[^1],
            ["create_median_ms"] = creates.Count == 0 ? -1 : Median(creates),
            ["update_median_ms"] = updates.Count == 0 ? -1 : Median(updates),
        };
    }

    private static bool Shows(string path, byte[] content)
    {
        try
        {
            return File.ReadAllBytes(path).AsSpan().SequenceEqual(content);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Polls <paramref name="condition"/>; the time until it held, or null after <paramref name="timeout"/>.</summary>
    private static async Task<TimeSpan?> WaitAsync(Func<bool> condition, TimeSpan timeout, TimeSpan poll, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition())
            {
                return clock.Elapsed;
            }

            await Task.Delay(poll, cancellationToken);
        }

        return null;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private sealed class MemorySource(ReadOnlyMemory<byte> content) : IUploadSource
    {
        public long Length => content.Length;

        public ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            int count = (int)Math.Clamp(content.Length - offset, 0, buffer.Length);
            content.Slice((int)offset, count).CopyTo(buffer);
            return ValueTask.FromResult(count);
        }
    }
}
