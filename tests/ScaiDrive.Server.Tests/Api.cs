using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

/// <summary>Thin raw-HTTP helpers for the contract tests: JSON in, JsonElement out, and error-envelope assertions.</summary>
internal static class Api
{
    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(
        HttpClient client, HttpMethod method, string path, object? json = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = JsonContent.Create(json, json.GetType());
        }
        else if (content is not null)
        {
            request.Content = content;
        }

        HttpResponseMessage response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        JsonElement body = text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json"
            ? JsonDocument.Parse(text).RootElement.Clone()
            : default;
        return (response.StatusCode, body, response);
    }

    public static async Task<JsonElement> OkAsync(HttpClient client, HttpMethod method, string path, object? json = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        (HttpStatusCode status, JsonElement body, HttpResponseMessage response) = await SendAsync(client, method, path, json);
        using (response)
        {
            Assert.True(status == expected, $"{method} {path}: expected {(int)expected}, got {(int)status}: {body}");
            return body;
        }
    }

    /// <summary>Asserts the §21.1 envelope: status, error.code, detail, meta.request_id equal to the X-Request-ID header.</summary>
    public static async Task<JsonElement> ErrorAsync(HttpClient client, HttpMethod method, string path, HttpStatusCode status, string code, object? json = null, HttpContent? content = null)
    {
        (HttpStatusCode actual, JsonElement body, HttpResponseMessage response) = await SendAsync(client, method, path, json, content);
        using (response)
        {
            Assert.True(actual == status, $"{method} {path}: expected {(int)status} {code}, got {(int)actual}: {body}");
            AssertEnvelope(body, response, code);
            return body;
        }
    }

    public static void AssertEnvelope(JsonElement body, HttpResponseMessage response, string code)
    {
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal(code, body.GetProperty("error").GetProperty("code").GetString());
        Assert.True(body.TryGetProperty("detail", out _));
        string requestId = body.GetProperty("meta").GetProperty("request_id").GetString()!;
        Assert.Equal(requestId, response.Headers.GetValues("X-Request-ID").Single());
    }

    public static async Task<JsonElement> UploadAsync(HttpClient client, string shareId, string? folderId, string name, byte[] content, HttpStatusCode expected = HttpStatusCode.Created)
    {
        using MultipartFormDataContent form = Multipart(shareId, folderId, name, content);
        (HttpStatusCode status, JsonElement body, HttpResponseMessage response) = await SendAsync(client, HttpMethod.Post, "api/v1/files", content: form);
        using (response)
        {
            Assert.True(status == expected, $"upload {name}: expected {(int)expected}, got {(int)status}: {body}");
            return body;
        }
    }

    public static MultipartFormDataContent Multipart(string shareId, string? folderId, string name, byte[] content)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(shareId), "share_id" },
        };
        if (folderId is not null)
        {
            form.Add(new StringContent(folderId), "folder_id");
        }

        form.Add(new StringContent(name), "name");
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", name);
        return form;
    }

    public static async Task<byte[]> DownloadAsync(HttpClient client, string fileId)
    {
        using HttpResponseMessage response = await client.GetAsync($"api/v1/files/{fileId}/content", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
    }

    public static async Task<JsonElement> CreateFolderAsync(HttpClient client, string shareId, string? parentId, string name) =>
        await OkAsync(client, HttpMethod.Post, "api/v1/folders", new { share_id = shareId, parent_id = parentId, name }, HttpStatusCode.Created);

    public static string Id(this JsonElement element) => element.GetProperty("id").GetString()!;

    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString()!;

    public static long Long(this JsonElement element, string name) => element.GetProperty(name).GetInt64();

    public static byte[] RandomBytes(int size, int seed)
    {
        byte[] data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));

    public static StringContent Text(string text) => new(text, Encoding.UTF8, "application/json");
}

/// <summary>A fresh local server per test class instance; xunit disposes it.</summary>
public abstract class ServerTest : IAsyncLifetime
{
    private LocalServer? _server;

    protected LocalServer Server => _server ?? throw new InvalidOperationException("not started");

    protected virtual LocalServerOptions? Options => null;

    protected HttpClient Owner { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await LocalServer.StartAsync(Options, TestContext.Current.CancellationToken);
        Owner = _server.CreateHttpClient(_server.OwnerToken);
    }

    public async ValueTask DisposeAsync()
    {
        Owner?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
