using System.Net;
using System.Text.Json;
using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client;

/// <summary>What <see cref="ScaiDriveClient.ResizeUploadSessionAsync"/> found: the resized session, or that the server lacks the extension.</summary>
public sealed record UploadResizeResult(UploadSession? Session)
{
    public static UploadResizeResult NotSupported { get; } = new((UploadSession?)null);

    /// <summary>The server does not offer <c>PATCH /uploads/{id}</c> (a real ScaiDrive); the caller falls back.</summary>
    public bool IsNotSupported => Session is null;
}

public sealed partial class ScaiDriveClient
{
    private int _uploadResizeUnsupported; // Interlocked: 1 once the server answered 404/405 for a session that exists

    /// <summary>False once this client learned that the server cannot resize upload sessions.</summary>
    public bool UploadResizeMaybeSupported => Volatile.Read(ref _uploadResizeUnsupported) == 0;

    /// <summary>
    /// <c>PATCH /api/v1/uploads/{id}</c> with <c>{"file_size": N}</c>: our server's extension that changes the size of an
    /// active session (and, when given, its <c>checksum_sha256</c>). A server without it answers 404 or 405: then this
    /// returns <see cref="UploadResizeResult.NotSupported"/> and remembers it, so later calls do not ask again. The
    /// server refuses with 409 <c>UPLOAD_RESIZE_CONFLICT</c> when a received chunk would change length (thrown).
    /// </summary>
    public async Task<UploadResizeResult> ResizeUploadSessionAsync(UploadSessionId sessionId, long newSize, string? checksumSha256 = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newSize);
        if (!UploadResizeMaybeSupported)
        {
            return UploadResizeResult.NotSupported;
        }

        byte[] payload = ResizeBody(newSize, checksumSha256);
        string relative = $"api/v1/uploads/{Esc(sessionId.Value)}";
        try
        {
            // Idempotent (the same size twice is the same session), so the create pipeline may retry it.
            UploadSession session = await RunAsync(_pipelines.Create, async ct =>
            {
                using var response = await SendAsync(
                    () => new HttpRequestMessage(HttpMethod.Patch, Url(relative)) { Content = new ByteArrayContent(payload) { Headers = { ContentType = s_jsonType } } },
                    HttpCompletionOption.ResponseHeadersRead,
                    ct).ConfigureAwait(false);
                return (await ReadJsonAsync(response, WireJsonContext.Default.UploadSessionDto, ct).ConfigureAwait(false)).ToModel();
            }, cancellationToken).ConfigureAwait(false);
            return new UploadResizeResult(session);
        }
        catch (ScaiDriveApiException ex) when (ex.StatusCode == HttpStatusCode.MethodNotAllowed)
        {
            Interlocked.Exchange(ref _uploadResizeUnsupported, 1);
            return UploadResizeResult.NotSupported;
        }
        catch (ScaiDriveApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // 404 is also what an unknown route gives: ask for the session itself to tell the two apart.
            await GetUploadSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _uploadResizeUnsupported, 1);
            return UploadResizeResult.NotSupported;
        }
    }

    private static byte[] ResizeBody(long newSize, string? checksumSha256)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("file_size", newSize);
            if (checksumSha256 is not null)
            {
                json.WriteString("checksum_sha256", checksumSha256);
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
