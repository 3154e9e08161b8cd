using ScaiDrive.Client;
using ScaiDrive.Vfs.Reading;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>The production source (the client against the local server) with request counters.</summary>
internal sealed class CountingContentSource(IContentSource inner) : IContentSource
{
    private int _rangeReads;
    private int _streamOpens;

    public int Requests => Volatile.Read(ref _rangeReads) + Volatile.Read(ref _streamOpens);

    public int StreamOpens => Volatile.Read(ref _streamOpens);

    public Task<int> ReadRangeAsync(ContentKey key, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _rangeReads);
        return inner.ReadRangeAsync(key, offset, destination, cancellationToken);
    }

    public Task<Stream> OpenRangeAsync(ContentKey key, long offset, long length, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _streamOpens);
        return inner.OpenRangeAsync(key, offset, length, cancellationToken);
    }

    private int _directOpens;

    /// <summary>Direct streams opened (declined ones included), each with the offset it was asked for.</summary>
    public int DirectOpens => Volatile.Read(ref _directOpens);

    public System.Collections.Concurrent.ConcurrentQueue<TrackedDirectContent> DirectStreams { get; } = new();

    /// <summary>Answer every direct open with null, as a server that declines.</summary>
    public bool DeclineDirect { get; set; }

    public bool CanOpenDirect => inner.CanOpenDirect;

    public IDirectContent? TryOpenDirect(ContentKey key, long offset, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _directOpens);
        if (DeclineDirect || inner.TryOpenDirect(key, offset, cancellationToken) is not { } opened)
        {
            return null;
        }

        var tracked = new TrackedDirectContent(opened, offset);
        DirectStreams.Enqueue(tracked);
        return tracked;
    }
}

/// <summary>A direct stream that records whether it was disposed.</summary>
internal sealed class TrackedDirectContent(IDirectContent inner, long start) : IDirectContent
{
    public long Start { get; } = start;

    public bool Disposed { get; private set; }

    public System.Runtime.InteropServices.SafeHandle Handle => inner.Handle;

    public long Position => inner.Position;

    public int Read(Span<byte> destination) => inner.Read(destination);

    public void Advance(int count) => inner.Advance(count);

    public void Dispose()
    {
        Disposed = true;
        inner.Dispose();
    }
}

/// <summary>Upload source over bytes in memory, or over a pattern computed from the offset (large files).</summary>
internal sealed class PatternUploadSource(long length, byte[]? data = null) : IUploadSource
{
    public long Length => length;

    /// <summary>The byte at <paramref name="offset"/> of a pattern file: cheap, and different in every block.</summary>
    public static byte PatternByte(long offset) => (byte)((offset * 2654435761L) >> 11);

    public ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int n = (int)Math.Clamp(length - offset, 0, buffer.Length);
        if (data is not null)
        {
            data.AsSpan((int)offset, n).CopyTo(buffer.Span);
        }
        else
        {
            Span<byte> span = buffer.Span;
            for (int i = 0; i < n; i++)
            {
                span[i] = PatternByte(offset + i);
            }
        }

        return ValueTask.FromResult(n);
    }
}
