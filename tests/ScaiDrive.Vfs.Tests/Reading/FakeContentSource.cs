using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Reading;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>
/// An in-memory content source that behaves like the client against the server: it serves the current version of
/// each file, fails with ContentChanged when the caller's checksum is stale, and counts, holds and breaks requests.
/// </summary>
internal sealed class FakeContentSource : IContentSource
{
    private readonly Lock _gate = new();
    private readonly Dictionary<FileId, (ContentKey Key, byte[] Data)> _files = [];
    private TaskCompletionSource _open = CreateOpenGate();
    private int _inFlight;

    public FakeContentSource()
    {
        _open.SetResult();
    }

    public int RangeReads;
    public int StreamOpens;
    public int MaxConcurrent;

    /// <summary>Requests begun and not yet finished (a stream counts until it is disposed).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);
    public int CancelledRequests;

    /// <summary>Streams break off (IOException) after this many bytes; null = never.</summary>
    public long? BreakStreamsAfterBytes { get; set; }

    /// <summary>The next N ranged reads fail as the client does once its retries ran out.</summary>
    public int FailRangeReads;

    public TimeSpan Latency { get; set; }

    public long StreamedBytes;

    public ContentKey Put(string id, byte[] data, long version = 1)
    {
        var key = new ContentKey(new FileId(id), version, data.Length, Convert.ToHexStringLower(SHA256.HashData(data)));
        lock (_gate)
        {
            _files[key.FileId] = (key, data);
        }

        return key;
    }

    /// <summary>Requests wait until <see cref="Open"/>.</summary>
    public void Hold()
    {
        lock (_gate)
        {
            _open = CreateOpenGate();
        }
    }

    public void Open()
    {
        lock (_gate)
        {
            _open.TrySetResult();
        }
    }

    public async Task<int> ReadRangeAsync(ContentKey key, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref RangeReads);
        byte[] data = await BeginAsync(key, cancellationToken);
        try
        {
            if (Interlocked.Decrement(ref FailRangeReads) >= 0)
            {
                throw new ScaiDriveApiException(ScaiDriveErrorKind.Unavailable, "injected: retries exhausted");
            }

            int n = (int)Math.Clamp(data.Length - offset, 0, destination.Length);
            data.AsSpan((int)offset, n).CopyTo(destination.Span);
            return n;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async Task<Stream> OpenRangeAsync(ContentKey key, long offset, long length, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref StreamOpens);
        byte[] data = await BeginAsync(key, cancellationToken);

        int n = (int)Math.Clamp(data.Length - offset, 0, length);
        return new FakeStream(this, new MemoryStream(data, (int)offset, n, writable: false), cancellationToken);
    }

    private async Task<byte[]> BeginAsync(ContentKey key, CancellationToken cancellationToken)
    {
        int now = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref MaxConcurrent, now);
        try
        {
            Task gate;
            lock (_gate)
            {
                gate = _open.Task;
            }

            await gate.WaitAsync(cancellationToken);
            if (Latency > TimeSpan.Zero)
            {
                await Task.Delay(Latency, cancellationToken);
            }

            lock (_gate)
            {
                if (!_files.TryGetValue(key.FileId, out (ContentKey Key, byte[] Data) file))
                {
                    throw new ScaiDriveApiException(ScaiDriveErrorKind.NotFound, "no such file");
                }

                if (file.Key.ChecksumSha256 != key.ChecksumSha256)
                {
                    throw new ScaiDriveApiException(ScaiDriveErrorKind.ContentChanged, "ETag moved on");
                }

                return file.Data;
            }
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref CancelledRequests);
            Interlocked.Decrement(ref _inFlight);
            throw;
        }
        catch
        {
            Interlocked.Decrement(ref _inFlight);
            throw;
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static TaskCompletionSource CreateOpenGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class FakeStream(FakeContentSource owner, MemoryStream inner, CancellationToken requestToken) : Stream
    {
        private long _delivered;
        private bool _closed;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            requestToken.ThrowIfCancellationRequested();
            await Task.Yield();
            if (owner.BreakStreamsAfterBytes is { } limit)
            {
                if (_delivered >= limit)
                {
                    throw new IOException("injected: connection reset");
                }

                buffer = buffer[..(int)Math.Min(buffer.Length, limit - _delivered)];
            }

            int n = inner.Read(buffer.Span);
            _delivered += n;
            Interlocked.Add(ref owner.StreamedBytes, n);
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_closed)
            {
                _closed = true;
                Interlocked.Decrement(ref owner._inFlight);
            }

            base.Dispose(disposing);
        }
    }
}
