using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class PersistenceTests : ServerTest
{
    [Fact]
    public async Task EverythingSurvivesARestart()
    {
        TestUser user = await Server.CreateUserAsync("bob");
        await Server.AddMemberAsync(Server.DefaultShareId, user.UserId, "editor");
        JsonElement folder = await Api.CreateFolderAsync(Owner, Server.DefaultShareId, null, "Keep");
        byte[] data = Api.RandomBytes(200_000, 8);
        JsonElement file = await Api.UploadAsync(Owner, Server.DefaultShareId, folder.Id(), "k.bin", data);
        string token = Server.OwnerToken;
        string share = Server.DefaultShareId;
        JsonElement head = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={share}");

        await Server.RestartAsync();
        Assert.Equal(token, Server.OwnerToken);
        Assert.Equal(share, Server.DefaultShareId);
        using HttpClient owner = Server.CreateHttpClient(token);
        Assert.Equal(data, await Api.DownloadAsync(owner, file.Id()));
        JsonElement again = await Api.OkAsync(owner, HttpMethod.Get, $"api/v1/files/{file.Id()}");
        Assert.Equal("/Keep/k.bin", again.Str("path"));
        using HttpClient bob = Server.CreateHttpClient(user.Token);
        JsonElement shares = await Api.OkAsync(bob, HttpMethod.Get, "api/v1/users/me/shares");
        Assert.Contains(shares.GetProperty("shares").EnumerateArray(), s => s.Id() == share && s.Str("role") == "editor");
        JsonElement changes = await Api.OkAsync(owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={share}&cursor={head.Long("cursor")}");
        Assert.Empty(changes.GetProperty("changes").EnumerateArray());
    }
}

public sealed class StartupTests
{
    [Fact]
    public async Task BusyPortAndBadOptionsGiveClearErrors()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        string dir = Path.Combine(Path.GetTempPath(), "scaidrive-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var busy = await Assert.ThrowsAsync<ScaiDriveServerException>(() => ScaiDriveServer.StartAsync(new ScaiDriveServerOptions { DataDirectory = dir, Listen = $"127.0.0.1:{port}" }, TestContext.Current.CancellationToken));
            Assert.Contains("in use", busy.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<ScaiDriveServerException>(() => ScaiDriveServer.StartAsync(new ScaiDriveServerOptions { DataDirectory = dir, Listen = "nonsense" }, TestContext.Current.CancellationToken));
            await Assert.ThrowsAsync<ScaiDriveServerException>(() => ScaiDriveServer.StartAsync(new ScaiDriveServerOptions { DataDirectory = dir, Listen = "127.0.0.1:0", FaultErrorRate = 2 }, TestContext.Current.CancellationToken));
        }
        finally
        {
            listener.Stop();
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
