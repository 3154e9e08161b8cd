using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Reading;

/// <summary>
/// Where block bytes come from. The production source is the API client; tests put a counting, fault-injecting
/// fake behind it. Both calls throw <see cref="ScaiDriveApiException"/> or <see cref="OperationCanceledException"/>.
/// </summary>
internal interface IContentSource
{
    /// <summary>
    /// One ranged read into <paramref name="destination"/>, retried by the source where it broke off; returns the bytes
    /// read (short only at end of file). Used for demand fetches, whose failure reaches the application.
    /// </summary>
    Task<int> ReadRangeAsync(ContentKey key, long offset, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>
    /// A stream of <paramref name="length"/> bytes from <paramref name="offset"/> (fewer at end of file). Used for
    /// multi-block read-ahead so each block can be served as soon as its bytes arrive. A stream that breaks off is
    /// not resumed: the blocks it did not deliver are fetched again on demand.
    /// </summary>
    Task<Stream> OpenRangeAsync(ContentKey key, long offset, long length, CancellationToken cancellationToken);

    /// <summary>
    /// The content from <paramref name="offset"/> to its end as one blocking stream for a streamed run, or null when
    /// this source cannot offer one (the ordinary calls then serve the run). Blocks for the round trip.
    /// </summary>
    IDirectContent? TryOpenDirect(ContentKey key, long offset, CancellationToken cancellationToken) => null;

    /// <summary>False when <see cref="TryOpenDirect"/> can never succeed (no streamed runs are started then).</summary>
    bool CanOpenDirect => false;
}

/// <summary>The API client as a content source.</summary>
internal sealed class ClientContentSource : IContentSource
{
    private readonly ScaiDriveClient _client;

    public ClientContentSource(ScaiDriveClient client)
    {
        _client = client;
    }

    // With a checksum we read the current content and let the ETag check fail with ContentChanged when it moved on
    // (the façade refreshes and retries). Without one, pinning the version is the only way not to mix versions.
    public Task<int> ReadRangeAsync(ContentKey key, long offset, Memory<byte> destination, CancellationToken cancellationToken) =>
        _client.ReadRangeAsync(key.FileId, offset, destination, PinnedVersion(key), key.ChecksumSha256, cancellationToken);

    public Task<Stream> OpenRangeAsync(ContentKey key, long offset, long length, CancellationToken cancellationToken) =>
        _client.OpenReadAsync(key.FileId, offset, length, PinnedVersion(key), key.ChecksumSha256, cancellationToken);

    public bool CanOpenDirect => _client.CanOpenDirectContent;

    public IDirectContent? TryOpenDirect(ContentKey key, long offset, CancellationToken cancellationToken) =>
        _client.TryOpenDirectContent(key.FileId, offset, PinnedVersion(key), key.ChecksumSha256, cancellationToken) is { } stream
            ? new DirectContent(stream)
            : null;

    private static long? PinnedVersion(ContentKey key) => key.ChecksumSha256 is null ? key.Version : null;

    private sealed class DirectContent(DirectContentStream stream) : IDirectContent
    {
        public System.Runtime.InteropServices.SafeHandle Handle => stream.Handle;

        public long Position => stream.Position;

        public int Read(Span<byte> destination) => stream.Read(destination);

        public void Advance(int count) => stream.Advance(count);

        public void Dispose() => stream.Dispose();
    }
}
