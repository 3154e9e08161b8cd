using System.Runtime.InteropServices;

namespace ScaiDrive.Vfs.Reading;

/// <summary>
/// Answers one read from a streamed run: takes exactly <paramref name="count"/> bytes from <paramref name="source"/>
/// and hands them to the application. Returns true when the read was answered (with those bytes); false when it was
/// not, in which case the stream is in an unknown state and is dropped, and the read goes the ordinary way. Must not throw.
/// </summary>
public delegate bool StreamedReply<in TArg>(StreamedContent source, int count, TArg argument);

/// <summary>
/// The bytes of one file version from a position on, as one operating-system stream (a socket). An adapter that can
/// move bytes between descriptors without copying them (Linux splice) takes them from <see cref="Handle"/> and
/// reports the count with <see cref="Consumed"/>; any other reader uses <see cref="Read"/>.
/// </summary>
public sealed class StreamedContent
{
    private readonly IDirectContent _content;

    internal StreamedContent(IDirectContent content)
    {
        _content = content;
    }

    /// <summary>The descriptor the body arrives on; valid during the reply only.</summary>
    public SafeHandle Handle => _content.Handle;

    /// <summary>Blocks until at least one byte arrives. Throws IOException when the connection broke.</summary>
    public int Read(Span<byte> destination) => _content.Read(destination);

    /// <summary>Records bytes taken from <see cref="Handle"/> directly.</summary>
    public void Consumed(int count) => _content.Advance(count);

    internal long Position => _content.Position;
}

/// <summary>The source side of a streamed run: one open response body. The API client's DirectContentStream in production.</summary>
internal interface IDirectContent : IDisposable
{
    SafeHandle Handle { get; }

    long Position { get; }

    int Read(Span<byte> destination);

    void Advance(int count);
}

/// <summary>
/// A long sequential run of one handle served from one open stream instead of block read-ahead (see ContentReader's
/// header). Reads take the stream in file order, one at a time, under <see cref="Sync"/>.
/// </summary>
internal sealed class StreamedRun(ContentKey key, long start, CancellationTokenSource cancellation)
{
    public ContentKey Key { get; } = key;

    /// <summary>Where the stream starts; block read-ahead covers everything before.</summary>
    public long Start { get; } = start;

    public CancellationTokenSource Cancellation { get; } = cancellation;

    /// <summary>Monitor for the file-order hand-over between readers.</summary>
    public object Sync { get; } = new();

    public Task<IDirectContent?>? Opening { get; set; }

    /// <summary>Next offset the stream delivers. Guarded by <see cref="Sync"/>.</summary>
    public long Position { get; set; } = start;

    /// <summary>No stream (declined, broken, ended by a seek or a release): reads go the ordinary way.</summary>
    public volatile bool Broken;

    private int _disposed;

    /// <summary>Ends the run: wakes and fails a reader blocked in the stream, then closes it.</summary>
    public void Dispose()
    {
        Broken = true;
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Cancellation.Cancel();
        if (Opening is { } opening)
        {
            // Closed when the opening finishes, whether before or after this.
            _ = opening.ContinueWith(static t => t.Result?.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        lock (Sync)
        {
            Monitor.PulseAll(Sync);
        }
    }
}
