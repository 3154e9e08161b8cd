using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using ScaiDrive.Client;

namespace ScaiDrive.Bench;

/// <summary>
/// One resumable upload through <see cref="ScaiDriveClient.UploadResumableAsync"/> with parallel chunks, from generated
/// content so the disk is not what is measured. The content never repeats (no chunk dedups against another) and is
/// random-access, as the client needs to read chunks in parallel and resend them.
/// </summary>
internal static class UploadBenchmark
{
    private const int WarmupChunk = 64 * 1024;
    private const long WarmupBytes = 8 * WarmupChunk;

    public static async Task<Dictionary<string, object>> RunAsync(ScaiDriveClient client, ShareId share, BenchArguments args, CancellationToken cancellationToken)
    {
        long size = args.Long("size");
        int parallel = args.Int("parallel", 4);
        int chunkBytes = checked(args.Int("chunk-mb", 4) * 1024 * 1024);
        var source = new GeneratedSource(size, (ulong)Environment.TickCount64 ^ (ulong)Random.Shared.NextInt64());
        string name = $"bench-upload-{Guid.NewGuid():N}.bin";

        if (args.Int("warmup", 1) != 0)
        {
            // A long-running client (the mount) has its upload path compiled long before a big file comes along; this
            // process is seconds old. One small untimed upload (deleted again) moves the JIT out of the measurement.
            var warm = new GeneratedSource(WarmupBytes, (ulong)Random.Shared.NextInt64());
            FileItem warmFile = await client.UploadResumableAsync(
                new CreateUploadSessionRequest(share, null, $"bench-warmup-{Guid.NewGuid():N}.bin", WarmupBytes) { ChunkSize = WarmupChunk },
                warm,
                new ResumableUploadOptions { Parallelism = parallel },
                cancellationToken: cancellationToken);
            await client.DeleteFileAsync(warmFile.Id, permanent: true, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        long chunksDoneTicks = 0;

        // Synchronous progress (not Progress<T>, which posts): the moment the last chunk is confirmed splits the
        // time into sending chunks and /complete.
        var progress = new InlineProgress(bytes =>
        {
            if (bytes == size)
            {
                Interlocked.CompareExchange(ref chunksDoneTicks, clock.ElapsedTicks, 0);
            }
        });
        FileItem file = await client.UploadResumableAsync(
            new CreateUploadSessionRequest(share, null, name, size) { ChunkSize = chunkBytes },
            source,
            new ResumableUploadOptions { Parallelism = parallel },
            progress,
            cancellationToken);
        double seconds = clock.Elapsed.TotalSeconds;
        double chunkSeconds = (double)Interlocked.Read(ref chunksDoneTicks) / Stopwatch.Frequency;
        if (file.Size != size)
        {
            throw new IOException($"the server stored {file.Size} bytes of {size}");
        }

        return new Dictionary<string, object>
        {
            ["bytes"] = size,
            ["seconds"] = seconds,
            ["chunks_seconds"] = chunkSeconds,
            ["complete_seconds"] = seconds - chunkSeconds,
            ["how"] = $"UploadResumableAsync, {chunkBytes >> 20} MiB chunks, {parallel} at once",
        };
    }

    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    /// <summary>
    /// Word w (bytes 8w..8w+7) is <c>block[w mod 128 Ki] XOR SplitMix64(seed + w / 128 Ki)</c>, where <c>block</c> is
    /// 1 MiB of SplitMix64 output of the seed: incompressible, different in every MiB of the file and in every run
    /// (so no chunk dedups against another, or against an earlier run), reproducible at any offset, and produced at
    /// memory speed, so the source costs the client about what curl's page-cache read costs it.
    /// </summary>
    private sealed class GeneratedSource : IUploadSource
    {
        private const int BlockWords = 128 * 1024;
        private readonly long _length;
        private readonly ulong _seed;
        private readonly ulong[] _block = new ulong[BlockWords];

        public GeneratedSource(long length, ulong seed)
        {
            _length = length;
            _seed = seed;
            for (int i = 0; i < BlockWords; i++)
            {
                _block[i] = Mix(seed ^ 0x5DEECE66DUL, (ulong)i);
            }
        }

        public long Length => _length;

        public ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            int count = (int)Math.Clamp(_length - offset, 0, buffer.Length);
            Fill(buffer.Span[..count], offset);
            return ValueTask.FromResult(count);
        }

        private void Fill(Span<byte> span, long position)
        {
            int i = 0;
            while (i < span.Length)
            {
                long word = position >> 3;
                int within = (int)(position & 7);
                if (within == 0 && span.Length - i >= 8)
                {
                    // A run of whole words inside one 1 MiB block: one vectorized XOR with the block's key.
                    int start = (int)(word % BlockWords);
                    int words = Math.Min((span.Length - i) / 8, BlockWords - start);
                    ulong key = Mix(_seed, (ulong)(word / BlockWords));
                    Span<ulong> target = MemoryMarshal.Cast<byte, ulong>(span.Slice(i, words * 8));
                    ReadOnlySpan<ulong> source = _block.AsSpan(start, words);
                    var keys = new Vector<ulong>(key);
                    int v = 0;
                    for (; v <= words - Vector<ulong>.Count; v += Vector<ulong>.Count)
                    {
                        (new Vector<ulong>(source[v..]) ^ keys).CopyTo(target[v..]);
                    }

                    for (; v < words; v++)
                    {
                        target[v] = source[v] ^ key;
                    }

                    if (!BitConverter.IsLittleEndian)
                    {
                        BinaryPrimitives.ReverseEndianness(target, target);
                    }

                    i += words * 8;
                    position += words * 8L;
                }
                else
                {
                    ulong value = _block[(int)(word % BlockWords)] ^ Mix(_seed, (ulong)(word / BlockWords));
                    span[i++] = (byte)(value >> (8 * within));
                    position++;
                }
            }
        }

        private static ulong Mix(ulong seed, ulong n)
        {
            ulong x = seed + (n * 0x9E3779B97F4A7C15UL) + 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
