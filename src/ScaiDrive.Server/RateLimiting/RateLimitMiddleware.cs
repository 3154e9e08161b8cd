using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.RateLimiting;

/// <summary>
/// §1.8 rate limiting per token and per user, in fixed one-minute windows of cost units (metadata 1, list and
/// write 2, upload/download 5, search 10). Every authenticated API response carries <c>X-RateLimit-Limit</c>,
/// <c>-Remaining</c> and <c>-Reset</c> (of the token dimension); over a limit the answer is 429 with
/// <c>Retry-After</c> and <c>error.details.dimension</c>.
/// </summary>
internal sealed class RateLimitMiddleware
{
    private readonly RequestDelegate _next;
    private readonly TimeProvider _time;
    private readonly int _tokenLimit;
    private readonly int _userLimit;
    private readonly ConcurrentDictionary<string, Window> _windows = new();

    public RateLimitMiddleware(RequestDelegate next, ScaiDriveServerOptions options)
    {
        _next = next;
        _time = options.TimeProvider;
        _tokenLimit = options.RateLimitPerTokenPerMinute;
        _userLimit = options.RateLimitPerUserPerMinute;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Items[AuthenticationMiddleware.TokenKey] is not string token)
        {
            return _next(context);
        }

        Caller caller = AuthenticationMiddleware.CallerOf(context);
        int cost = CostOf(context.Request);
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        long windowStart = now - (now % 60);
        long reset = windowStart + 60;
        string tokenKey = "t:" + JwtTokens.HashSecret(token);
        int tokenUsed = Charge(tokenKey, windowStart, cost, _tokenLimit, out bool tokenOver);
        bool userOver = false;
        if (!tokenOver)
        {
            Charge("u:" + caller.UserId, windowStart, cost, _userLimit, out userOver);
        }

        IHeaderDictionary headers = context.Response.Headers;
        headers["X-RateLimit-Limit"] = _tokenLimit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = Math.Max(0, _tokenLimit - tokenUsed).ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = reset.ToString(CultureInfo.InvariantCulture);
        if (tokenOver || userOver)
        {
            string dimension = tokenOver ? "token" : "user";
            int retry = (int)Math.Max(1, reset - now);
            throw new ApiException(429, "RATE_LIMITED", $"Rate limit exceeded ({dimension})",
                new Dictionary<string, object> { ["dimension"] = dimension, ["limit"] = tokenOver ? _tokenLimit : _userLimit, ["window_seconds"] = 60 })
            {
                RetryAfterSeconds = retry,
            };
        }

        if (_windows.Count > 10_000)
        {
            foreach ((string key, Window window) in _windows)
            {
                if (window.Start < windowStart)
                {
                    _windows.TryRemove(key, out _);
                }
            }
        }

        return _next(context);
    }

    /// <summary>Adds <paramref name="cost"/> unless that would pass the limit; returns the units used in the window.</summary>
    private int Charge(string key, long windowStart, int cost, int limit, out bool over)
    {
        Window window = _windows.AddOrUpdate(key, _ => new Window(windowStart), (_, w) => w.Start == windowStart ? w : new Window(windowStart));
        lock (window)
        {
            if (window.Used + cost > limit)
            {
                over = true;
                return window.Used;
            }

            window.Used += cost;
            over = false;
            return window.Used;
        }
    }

    private static int CostOf(HttpRequest request)
    {
        string path = request.Path.Value ?? string.Empty;
        if (path.Contains("/content", StringComparison.Ordinal) || path.StartsWith("/api/v1/sync/download", StringComparison.Ordinal) ||
            (path.StartsWith("/api/v1/uploads/", StringComparison.Ordinal) && path.Contains("/chunks/", StringComparison.Ordinal)))
        {
            return 5;
        }

        if (path.StartsWith("/api/v1/search", StringComparison.Ordinal))
        {
            return 10;
        }

        if (path.EndsWith("/children", StringComparison.Ordinal) || !HttpMethods.IsGet(request.Method))
        {
            return 2;
        }

        return 1;
    }

    private sealed class Window
    {
        public Window(long start) => Start = start;

        public long Start { get; }

        // Guarded by lock(this).
        public int Used { get; set; }
    }
}
