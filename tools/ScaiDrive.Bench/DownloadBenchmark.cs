using System.Diagnostics;
using ScaiDrive.Client;

namespace ScaiDrive.Bench;

/// <summary>
/// Downloads one file through <see cref="ScaiDriveClient"/> into a null sink, either as ranged reads issued by a few
/// workers at once (what the VFS read-ahead does) or as one streaming GET (what curl does), so the two can be set
/// against curl of the same file.
/// </summary>
internal static class DownloadBenchmark
{
    public static async Task<Dictionary<string, object>> RunAsync(ScaiDriveClient client, BenchArguments args, CancellationToken cancellationToken)
    {
        var fileId = new FileId(args.Required("file-id"));
        string mode = args.Text("mode", "ranged");
        FileItem file = await client.GetFileAsync(fileId, cancellationToken);
        long expected = args.Long("size", file.Size);
        if (expected != file.Size)
        {
            throw new IOException($"the server says {fileId} has {file.Size} bytes, not {expected}");
        }

        int rangeBytes = checked(args.Int("range-mb", 32) * 1024 * 1024);
        int parallel = args.Int("parallel", 2);
        if (mode is not ("ranged" or "stream"))
        {
            throw new ArgumentException($"--mode takes ranged or stream, not {mode}");
        }

        // The buffers are allocated and written before the clock starts, as in a process that has been up for a while
        // (the mount's block buffers, curl's one buffer): first-touch page faults cost about 3.5 ms per MiB on the
        // bench VMs, so two fresh 32 MiB range buffers would add about 0.2 s to a 1 GiB transfer of about 0.7 s.
        byte[][] buffers = mode == "ranged"
            ? Enumerable.Range(0, parallel).Select(_ => Touched(rangeBytes)).ToArray()
            : [Touched(1 << 20)];

        // The clock measures the transfer, not this short-lived process's first use of the code: the file's last MiB
        // is read first, untimed, the same way (a ranged read, or a short stream), so JIT and the connection are warm
        // as in a mount that has been up for a while. It leaves at most 1 MiB of the file in the server's page cache
        // (0.1 % of the measured bytes). --warmup 0 skips it.
        if (args.Int("warmup", 1) != 0)
        {
            await WarmUpAsync(client, fileId, file.Size, mode, buffers[0], cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        long bytes;
        string how;
        if (mode == "ranged")
        {
            bytes = await ReadRangedAsync(client, fileId, file.Size, buffers, cancellationToken);
            how = $"ReadRangeAsync, {rangeBytes >> 20} MiB ranges, {parallel} at once";
        }
        else
        {
            bytes = await ReadStreamAsync(client, fileId, buffers[0], cancellationToken);
            how = "OpenReadAsync, one stream";
        }

        double seconds = clock.Elapsed.TotalSeconds;
        if (bytes != file.Size)
        {
            throw new IOException($"read {bytes} bytes of {file.Size}");
        }

        return new Dictionary<string, object> { ["bytes"] = bytes, ["seconds"] = seconds, ["how"] = how };
    }

    private static byte[] Touched(int length)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(length);
        Array.Fill(buffer, (byte)0);
        return buffer;
    }

    private static async Task WarmUpAsync(ScaiDriveClient client, FileId fileId, long size, string mode, byte[] buffer, CancellationToken cancellationToken)
    {
        int length = (int)Math.Min(size, Math.Min(buffer.Length, 1024 * 1024));
        long offset = size - length;
        if (mode == "stream")
        {
            await using Stream stream = await client.OpenReadAsync(fileId, offset, length, cancellationToken: cancellationToken);
            while (await stream.ReadAsync(buffer.AsMemory(0, length), cancellationToken) > 0)
            {
            }
        }
        else if (length > 0)
        {
            await client.ReadRangeAsync(fileId, offset, buffer.AsMemory(0, length), cancellationToken: cancellationToken);
        }
    }

    private static async Task<long> ReadRangedAsync(ScaiDriveClient client, FileId fileId, long size, byte[][] buffers, CancellationToken cancellationToken)
    {
        int rangeBytes = buffers[0].Length;
        long next = 0;
        long total = 0;

        async Task WorkerAsync(byte[] buffer)
        {
            while (true)
            {
                long offset = Interlocked.Add(ref next, rangeBytes) - rangeBytes;
                if (offset >= size)
                {
                    return;
                }

                int want = (int)Math.Min(rangeBytes, size - offset);
                int read = await client.ReadRangeAsync(fileId, offset, buffer.AsMemory(0, want), cancellationToken: cancellationToken);
                if (read != want)
                {
                    throw new IOException($"range at {offset}: {read} bytes of {want}");
                }

                Interlocked.Add(ref total, read);
            }
        }

        await Task.WhenAll(buffers.Select(buffer => Task.Run(() => WorkerAsync(buffer), cancellationToken)));
        return total;
    }

    private static async Task<long> ReadStreamAsync(ScaiDriveClient client, FileId fileId, byte[] buffer, CancellationToken cancellationToken)
    {
        await using Stream stream = await client.OpenReadAsync(fileId, cancellationToken: cancellationToken);
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
        }

        return total;
    }
}
