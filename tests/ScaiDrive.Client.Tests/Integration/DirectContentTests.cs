using System.Security.Cryptography;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Integration;

/// <summary>
/// <see cref="DirectContentStream"/> against the local server over real HTTP: the body from any offset to the end,
/// nothing for answers it must not use (errors, another ETag, a bad token), and an error, never short data, when the
/// connection breaks mid-body.
/// </summary>
public sealed class DirectContentTests : IAsyncLifetime
{
    private readonly CapturingLoggerFactory _loggers = new();
    private LocalServer _server = null!;
    private ScaiDriveClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await LocalServer.StartAsync(ct: Ct);
        _client = Clients.For(_server, loggers: _loggers);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<(FileItem File, byte[] Data)> UploadAsync(int size)
    {
        byte[] data = RandomNumberGenerator.GetBytes(size);
        FileItem file = await _client.UploadSmallFileAsync(new ShareId(_server.DefaultShareId), null, $"direct-{size}.bin", data, Ct);
        return (file, data);
    }

    private static byte[] ReadToEnd(DirectContentStream stream)
    {
        var result = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            result.Write(buffer, 0, n);
        }

        return result.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1_500_000)]
    public async Task Reads_the_body_from_the_offset_to_the_end(int offset)
    {
        (FileItem file, byte[] data) = await UploadAsync(3_000_000);

        using DirectContentStream? stream = _client.TryOpenDirectContent(file.Id, offset, expectedETag: file.ChecksumSha256, cancellationToken: Ct);

        Assert.NotNull(stream);
        Assert.Equal(offset, stream.Position);
        Assert.Equal(data.Length, stream.End);
        Assert.Equal(data.AsSpan(offset).ToArray(), ReadToEnd(stream));
        Assert.Equal(data.Length, stream.Position);
    }

    [Fact]
    public async Task A_pinned_version_reads_that_version()
    {
        (FileItem file, byte[] data) = await UploadAsync(200_000);

        using DirectContentStream? stream = _client.TryOpenDirectContent(file.Id, 100, version: file.Version, cancellationToken: Ct);

        Assert.NotNull(stream);
        Assert.Equal(data.AsSpan(100).ToArray(), ReadToEnd(stream));
    }

    [Fact]
    public async Task Another_ETag_an_offset_past_the_end_a_missing_file_and_a_bad_token_are_declined()
    {
        (FileItem file, _) = await UploadAsync(100_000);

        Assert.Null(_client.TryOpenDirectContent(file.Id, 0, expectedETag: new string('0', 64), cancellationToken: Ct));
        Assert.Null(_client.TryOpenDirectContent(file.Id, 100_000, cancellationToken: Ct));
        Assert.Null(_client.TryOpenDirectContent(new FileId("fil_01ZZZZZZZZZZZZZZZZZZZZZZZZ"), 0, cancellationToken: Ct));
        using ScaiDriveClient stranger = Clients.For(_server, token: "not-a-token");
        Assert.Null(stranger.TryOpenDirectContent(file.Id, 0, cancellationToken: Ct));

        // Each refusal is logged once, without the token.
        Assert.True(_loggers.Events.Count(e => e.Id.Id == 3010) >= 3);
        Assert.DoesNotContain(_loggers.Events, e => e.Message.Contains(_server.OwnerToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_error_is_declined()
    {
        (FileItem file, _) = await UploadAsync(100_000);
        await _server.SetFaultsAsync(errorRate: 1);

        Assert.Null(_client.TryOpenDirectContent(file.Id, 0, cancellationToken: Ct));
    }

    [Fact]
    public async Task A_connection_reset_mid_body_is_an_error_never_short_data()
    {
        (FileItem file, byte[] data) = await UploadAsync(3_000_000);
        await _server.SetFaultsAsync(resetRate: 1);

        using DirectContentStream? stream = _client.TryOpenDirectContent(file.Id, 0, cancellationToken: Ct);

        Assert.NotNull(stream);
        var received = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        IOException error = Assert.Throws<IOException>(() =>
        {
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        });
        Assert.True(received.Length < data.Length, error.Message);
        Assert.Equal(data.AsSpan(0, (int)received.Length).ToArray(), received.ToArray());
    }

    [Fact]
    public async Task Dispose_wakes_a_reader_blocked_in_the_stream()
    {
        // A server that sends the head of a 10-byte body and then nothing: the reader blocks in Read.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        Task serving = Task.Run(async () =>
        {
            using System.Net.Sockets.TcpClient peer = await listener.AcceptTcpClientAsync(Ct);
            System.Net.Sockets.NetworkStream net = peer.GetStream();
            byte[] request = new byte[4096];
            _ = await net.ReadAsync(request, Ct);
            await net.WriteAsync("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\n\r\n"u8.ToArray(), Ct);
            await Task.Delay(Timeout.Infinite, Ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }, Ct);
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var client = new ScaiDriveClient(new ScaiDriveClientOptions
        {
            BaseUrl = new Uri($"http://127.0.0.1:{port}/"),
            Credentials = new ScaiDriveCredentials { AccessToken = "t" },
        });
        DirectContentStream? stream = client.TryOpenDirectContent(new FileId("fil_01ZZZZZZZZZZZZZZZZZZZZZZZZ"), 0, cancellationToken: Ct);
        Assert.NotNull(stream);
        Task<int> blocked = Task.Run(() => stream.Read(new byte[10]), Ct);
        await Task.Delay(200, Ct);
        Assert.False(blocked.IsCompleted);

        stream.Dispose();

        Task done = await Task.WhenAny(blocked, Task.Delay(TimeSpan.FromSeconds(10), Ct));
        Assert.Same(blocked, done);
        await Assert.ThrowsAsync<IOException>(() => blocked);
    }

    [Fact]
    public void Only_plain_http_servers_are_read_directly()
    {
        using var tls = new ScaiDriveClient(new ScaiDriveClientOptions
        {
            BaseUrl = new Uri("https://example.invalid/"),
            Credentials = new ScaiDriveCredentials { AccessToken = "t" },
        });

        Assert.False(tls.CanOpenDirectContent);
        Assert.True(_client.CanOpenDirectContent);
        Assert.Null(tls.TryOpenDirectContent(new FileId("fil_01ZZZZZZZZZZZZZZZZZZZZZZZZ"), 0, cancellationToken: Ct));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10", "status 200")]
    [InlineData("HTTP/1.1 206 Partial Content\r\nContent-Length: 10", "no usable Content-Range")]
    [InlineData("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/10\r\nContent-Length: 5", "range bytes 5-9/10")]
    [InlineData("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-8/10\r\nContent-Length: 9", "range bytes 0-8/10")]
    [InlineData("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nTransfer-Encoding: chunked", "a transfer-encoded body")]
    [InlineData("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\nETag: \"b\"", "another ETag (the content changed)")]
    public void Heads_it_cannot_use_are_refused(string head, string problem)
    {
        Assert.False(DirectContentStream.TryParse(head, 0, "a", out _, out string? seen));
        Assert.StartsWith(problem, seen);
    }

    [Fact]
    public void A_head_for_the_request_is_accepted()
    {
        Assert.True(DirectContentStream.TryParse(
            "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 4-9/10\r\ncontent-length: 6\r\netag: W/\"a\"", 4, "a", out long end, out string? problem));
        Assert.Equal(10, end);
        Assert.Null(problem);
    }
}
