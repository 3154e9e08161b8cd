using System.Net;

namespace ScaiDrive.Client.Tests.Unit;

public sealed class TokenFileClientTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("scaidrive-client-tokenfile-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ChangedTokenFile_IsUsedOnTheNextRequest_AndRescuesA401()
    {
        string path = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(path, "tok_file_1", Ct);
        string valid = "tok_file_1";
        string? rotateTo = null;
        var handler = new ScriptedHandler(async (req, _) =>
        {
            if (req.Authorization == valid)
            {
                return ScriptedHandler.Json(HttpStatusCode.OK, """{"id":"usr_1","email":"a@b"}""");
            }

            if (rotateTo is not null)
            {
                // Someone rotates the file while our request is in flight.
                await File.WriteAllTextAsync(path, rotateTo);
                File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(10));
            }

            return ScriptedHandler.Error(HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID");
        });
        using var client = ScriptedHandler.Client(handler, credentials: new ScaiDriveCredentials { TokenFile = path });

        Assert.Equal("usr_1", (await client.GetMeAsync(Ct)).Id);
        Assert.Equal("tok_file_1", handler.Requests.Last().Authorization);

        await File.WriteAllTextAsync(path, "tok_file_2\n", Ct);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        valid = "tok_file_2";
        Assert.Equal("usr_1", (await client.GetMeAsync(Ct)).Id);
        Assert.Equal("tok_file_2", handler.Requests.Last().Authorization);

        // The server stops accepting tok_file_2; the file gets tok_file_3 meanwhile: one 401, then success.
        valid = "tok_file_3";
        rotateTo = "tok_file_3";
        int before = handler.Count;
        Assert.Equal("usr_1", (await client.GetMeAsync(Ct)).Id);
        Assert.Equal(2, handler.Count - before);
        Assert.Equal("tok_file_3", handler.Requests.Last().Authorization);
    }

    [Fact]
    public async Task Cancellation_IsNotTranslated()
    {
        var handler = new ScriptedHandler(async (_, _) =>
        {
            await Task.Delay(Timeout.Infinite, ScriptedHandler.RequestAborted);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        using var client = ScriptedHandler.Client(handler);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetMeAsync(cts.Token));
    }
}
