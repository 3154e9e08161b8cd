using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Timeout;
using ScaiDrive.Client.Auth;
using ScaiDrive.Client.Http;
using ScaiDrive.Client.Resilience;
using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client;

/// <summary>
/// The typed ScaiDrive API client: the one place where HTTP, retries and tokens live.
/// Thread-safe; one instance per server. Every method throws <see cref="ScaiDriveApiException"/> on failure
/// (after retries where the operation is safe to retry) or <see cref="OperationCanceledException"/>.
/// </summary>
/// <remarks>
/// Layering inside the client: a public operation picks a pipeline (<see cref="ClientPipelines"/>) and runs an
/// attempt in it; an attempt calls <see cref="SendAsync"/>, which waits for the rate-limit governor, adds the
/// bearer token, refreshes it once on 401, and turns a non-2xx answer into a <see cref="ScaiDriveApiException"/>.
/// <see cref="RunAsync{T}"/> translates what escapes the pipeline (transport errors, timeouts) into the same type.
/// </remarks>
public sealed partial class ScaiDriveClient : IDisposable
{
    private static readonly MediaTypeHeaderValue s_jsonType = new("application/json");

    private readonly ScaiDriveClientOptions _options;
    private readonly HttpClient _http;
    private readonly Uri _baseUrl;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TokenSource _tokens;
    private readonly RateLimitGovernor _governor;
    private readonly ClientPipelines _pipelines;
    private int _disposed;

    public ScaiDriveClient(ScaiDriveClientOptions options)
        : this(options, CreateHandler(options))
    {
    }

    /// <summary>For tests: the client over any handler (a scripted one, or a socket handler with other settings).</summary>
    internal ScaiDriveClient(ScaiDriveClientOptions options, HttpMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.BaseUrl);
        _options = options;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger("ScaiDrive.Client") ?? NullLogger.Instance;
        _tokens = new TokenSource(options.Credentials ?? throw new ArgumentException("Credentials are required.", nameof(options)));
        _governor = new RateLimitGovernor(_time, options.MaxBackoff);
        _pipelines = new ClientPipelines(options, _logger);

        string url = options.BaseUrl.ToString();
        _baseUrl = new Uri(url.EndsWith('/') ? url : url + "/");
        _http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = _baseUrl,
            // Timeouts are per attempt, in the pipelines, on the injected clock.
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(options.UserAgent);
    }

    private static SocketsHttpHandler CreateHandler(ScaiDriveClientOptions options) => new()
    {
        // Recycle connections now and then so DNS changes are seen; keep them alive in between.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        MaxConnectionsPerServer = Math.Max(1, options.MaxConnectionsPerServer),
        // Content is read straight into callers' buffers; a compressed body would defeat ranges and zero-copy.
        AutomaticDecompression = DecompressionMethods.None,
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        ConnectTimeout = TimeSpan.FromSeconds(15),
    };

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _http.Dispose();
        }
    }

    public override string ToString() => $"ScaiDriveClient({_baseUrl})";

    // ---- plumbing --------------------------------------------------------------------------------

    private Uri Url(string relative) => new(_baseUrl, relative);

    private static string Esc(string value) => Uri.EscapeDataString(value);

    /// <summary>
    /// Sends one request (built fresh by <paramref name="factory"/> each time it goes out) and returns a 2xx response.
    /// On 401 it refreshes the token once (or picks up a changed token file) and resends.
    /// </summary>
    internal async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> factory,
        HttpCompletionOption completion,
        CancellationToken cancellationToken,
        bool authenticate = true)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        bool retriedAuth = false;
        while (true)
        {
            await _governor.WaitAsync(cancellationToken).ConfigureAwait(false);
            var request = factory();
            string? token = null;
            if (authenticate)
            {
                token = _tokens.GetAccessToken();
                if (token is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }
            }

            var response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
            _governor.Observe(response.Headers);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && authenticate && !retriedAuth)
            {
                bool tokenFileChanged = !string.Equals(_tokens.GetAccessToken(), token, StringComparison.Ordinal);
                if (tokenFileChanged || _tokens.CanRefresh)
                {
                    response.Dispose();
                    retriedAuth = true;
                    if (!tokenFileChanged)
                    {
                        await _tokens.RefreshAsync(token, RefreshTokenAsync, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }
            }

            using (response)
            {
                throw await ApiErrors.FromResponseAsync(response, _time, _tokens, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>POST /api/v1/auth/token with the refresh-token grant. Not retried on a lost answer: the old refresh token may be spent.</summary>
    private async Task<(string Access, string? Refresh)> RefreshTokenAsync(string refreshToken, CancellationToken cancellationToken)
    {
        try
        {
            var dto = await RunAsync(_pipelines.CreateUnchecked, async ct =>
            {
                using var response = await SendAsync(
                    () => new HttpRequestMessage(HttpMethod.Post, Url("api/v1/auth/token"))
                    {
                        Content = new FormUrlEncodedContent(
                        [
                            new("grant_type", "refresh_token"),
                            new("refresh_token", refreshToken),
                        ]),
                    },
                    HttpCompletionOption.ResponseContentRead,
                    ct,
                    authenticate: false).ConfigureAwait(false);
                return await ReadJsonAsync(response, WireJsonContext.Default.TokenResponseDto, ct).ConfigureAwait(false);
            }, CancellationToken.None).ConfigureAwait(false);

            if (string.IsNullOrEmpty(dto.AccessToken))
            {
                throw new ScaiDriveApiException(ScaiDriveErrorKind.Unauthorized, "Token refresh returned no access token.", HttpStatusCode.Unauthorized);
            }

            Log.TokenRefreshed(_logger);
            return (dto.AccessToken, string.IsNullOrEmpty(dto.RefreshToken) ? null : dto.RefreshToken);
        }
        catch (ScaiDriveApiException ex) when (ex.IsTransient)
        {
            // The token endpoint is down, not the token bad: say so, so the caller sees EIO/EAGAIN rather than EACCES.
            Log.TokenRefreshFailed(_logger, ex.Message);
            throw;
        }
        catch (ScaiDriveApiException ex)
        {
            Log.TokenRefreshFailed(_logger, ex.Message);
            // Whatever the token endpoint said, the caller's request stays unauthorized.
            throw new ScaiDriveApiException(
                ScaiDriveErrorKind.Unauthorized, "Token refresh failed: " + ex.Message, HttpStatusCode.Unauthorized, ex.ErrorCode, ex.RequestId, innerException: ex);
        }
    }

    /// <summary>Runs <paramref name="attempt"/> in <paramref name="pipeline"/> and maps whatever escapes to <see cref="ScaiDriveApiException"/>.</summary>
    private async Task<T> RunAsync<T>(ResiliencePipeline pipeline, Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(attempt, cancellationToken).ConfigureAwait(false);
        }
        catch (ScaiDriveApiException)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw Translate(ex);
        }
    }

    private Task RunAsync(ResiliencePipeline pipeline, Func<CancellationToken, ValueTask> attempt, CancellationToken cancellationToken) =>
        RunAsync(pipeline, async ct =>
        {
            await attempt(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private ScaiDriveApiException Translate(Exception ex) => ex switch
    {
        TimeoutRejectedException => new ScaiDriveApiException(ScaiDriveErrorKind.Unavailable, "The server did not answer in time.", innerException: ex),
        HttpRequestException or IOException => new ScaiDriveApiException(
            ScaiDriveErrorKind.Unavailable, _tokens.Scrub("The connection to the server failed: " + ex.Message), innerException: ex),
        OperationCanceledException => new ScaiDriveApiException(ScaiDriveErrorKind.Unavailable, "The request was aborted.", innerException: ex),
        JsonException => new ScaiDriveApiException(ScaiDriveErrorKind.Other, "Malformed server response: " + ex.Message, innerException: ex),
        _ => new ScaiDriveApiException(ScaiDriveErrorKind.Other, _tokens.Scrub(ex.GetType().Name + ": " + ex.Message), innerException: ex),
    };

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(stream, typeInfo, cancellationToken).ConfigureAwait(false)
            ?? throw new ScaiDriveApiException(ScaiDriveErrorKind.Other, "Malformed server response: empty body.", response.StatusCode);
    }

    private static ByteArrayContent Json<T>(T value, JsonTypeInfo<T> typeInfo) =>
        new(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo)) { Headers = { ContentType = s_jsonType } };

    private Task<T> GetJsonAsync<T>(string relative, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) =>
        RunAsync(_pipelines.Metadata, async ct =>
        {
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url(relative)), HttpCompletionOption.ResponseHeadersRead, ct)
                .ConfigureAwait(false);
            return await ReadJsonAsync(response, typeInfo, ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>One JSON request/response attempt (no pipeline): the building block of every JSON operation.</summary>
    private async ValueTask<TOut> SendJsonAsync<TIn, TOut>(
        HttpMethod method, string relative, TIn body, JsonTypeInfo<TIn> inInfo, JsonTypeInfo<TOut> outInfo, CancellationToken cancellationToken)
    {
        byte[] payload = JsonSerializer.SerializeToUtf8Bytes(body, inInfo);
        using var response = await SendAsync(
            () => new HttpRequestMessage(method, Url(relative)) { Content = new ByteArrayContent(payload) { Headers = { ContentType = s_jsonType } } },
            HttpCompletionOption.ResponseHeadersRead,
            cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, outInfo, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask SendNoContentAsync(HttpMethod method, string relative, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(method, Url(relative)), HttpCompletionOption.ResponseContentRead, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// A non-idempotent create. When an attempt failed in a way that may have reached the server, the next attempt
    /// first asks <paramref name="probe"/> whether the create took effect and returns what it found.
    /// </summary>
    private Task<T> RunCreateAsync<T>(
        string what,
        Func<CancellationToken, ValueTask<T>> attempt,
        Func<CancellationToken, ValueTask<T?>> probe,
        CancellationToken cancellationToken)
        where T : class
    {
        bool maybeApplied = false;
        return RunAsync(_pipelines.Create, async ct =>
        {
            if (maybeApplied)
            {
                Log.ProbingCreate(_logger, what);
                if (await probe(ct).ConfigureAwait(false) is { } existing)
                {
                    return existing;
                }

                maybeApplied = false;
            }

            try
            {
                return await attempt(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (Transience.IsAmbiguous(ex))
            {
                maybeApplied = true;
                throw;
            }
        }, cancellationToken);
    }

    private static string Hex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    private static string Describe(Exception ex) => ex is ScaiDriveApiException api ? api.Message : ex.GetType().Name + ": " + ex.Message;

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }

            sb.Append(sb.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Esc(value));
        }

        return sb.ToString();
    }
}
