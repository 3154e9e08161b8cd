using System.Buffers.Binary;
using System.Diagnostics;
using ScaiDrive.Client;

namespace ScaiDrive.Bench;

/// <summary>
/// One resumable upload through <see cref="ScaiDriveClient.UploadResumableAsync"/> with parallel chunks, from generated
/// content so the disk is not what is measured. The content never repeats (no chunk dedups against another) and is
/// random-access, as the client needs to read chunks in parallel and resend them.
/// </summary>
internal static class UploadBenchmark
{
    public static async Task<Dictionary<string, object>> RunAsync(ScaiDriveClient client, ShareId share, BenchArguments args, CancellationToken cancellationToken)
    {
        long size = args.Long("size");
        int parallel = args.Int("parallel", 4);
        int chunkBytes = checked(args.Int("chunk-mb", 4) * 1024 * 1024);
        var source = new GeneratedSource(size, (ulong)Environment.TickCount64 ^ (ulong)Random.Shared.NextInt64());
        string name = $"bench-upload-{Guid.NewGuid():N}.bin";

        var clock = Stopwatch.StartNew();
        FileItem file = await client.UploadResumableAsync(
            new CreateUploadSessionRequest(share, null, name, size) { ChunkSize = chunkBytes },
            source,
            new ResumableUploadOptions { Parallelism = parallel },
            cancellationToken: cancellationToken);
        double seconds = clock.Elapsed.TotalSeconds;
        if (file.Size != size)
        {
            throw new IOException($"the server stored {file.Size} bytes of {size}");
        }

        return new Dictionary<string, object>
        {
            ["bytes"] = size,
            ["seconds"] = seconds,
            ["how"] = $"UploadResumableAsync, {chunkBytes >> 20} MiB chunks, {parallel} at once",
        };
    }

    /// <summary>Byte i is byte (i mod 8) of SplitMix64(seed + i / 8): cheap, incompressible, reproducible at any offset.</summary>
    private sealed class GeneratedSource(long length, ulong seed) : IUploadSource
    {
        public long Length => length;

        public ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            int count = (int)Math.Clamp(length - offset, 0, buffer.Length);
            Fill(buffer.Span[..count], offset);
            return ValueTask.FromResult(count);
        }

        private void Fill(Span<byte> span, long position)
        {
            int i = 0;
            while (i < span.Length)
            {
                ulong word = Mix(seed + (ulong)(position >> 3));
                int within = (int)(position & 7);
                if (within == 0 && span.Length - i >= 8)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(span[i..], word);
                    i += 8;
                    position += 8;
                }
                else
                {
                    span[i++] = (byte)(word >> (8 * within));
                    position++;
                }
            }
        }

        private static ulong Mix(ulong x)
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
