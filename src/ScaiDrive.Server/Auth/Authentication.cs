using Microsoft.AspNetCore.Http;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Auth;

/// <summary>
/// Bearer authentication for <c>/api/v1</c>: a valid HS256 token of a known user, or 401 with AUTH_TOKEN_MISSING /
/// AUTH_TOKEN_INVALID. Public paths (health, config, token exchange, public links) pass untouched; the sync
/// socket authenticates itself so it can close with 4401.
/// </summary>
internal sealed class AuthenticationMiddleware
{
    private const string CallerKey = "scaidrive.caller";

    private readonly RequestDelegate _next;
    private readonly Authenticator _authenticator;

    public AuthenticationMiddleware(RequestDelegate next, Authenticator authenticator)
    {
        _next = next;
        _authenticator = authenticator;
    }

    public static bool IsPublic(PathString path) =>
        path.StartsWithSegments("/api/v1/health") || path.StartsWithSegments("/api/v1/ready") ||
        path.StartsWithSegments("/api/v1/config") || path.StartsWithSegments("/api/v1/auth/config") ||
        path.StartsWithSegments("/api/v1/auth/token") || path.StartsWithSegments("/api/v1/auth/callback") ||
        path.StartsWithSegments("/api/v1/external/public") || path.StartsWithSegments("/api/v1/sync/ws");

    public Task InvokeAsync(HttpContext context)
    {
        PathString path = context.Request.Path;
        if (path.StartsWithSegments("/api/v1") && !IsPublic(path))
        {
            string? header = context.Request.Headers.Authorization;
            if (string.IsNullOrEmpty(header))
            {
                throw ApiException.Unauthorized("AUTH_TOKEN_MISSING", "Authorization: Bearer <token> is required");
            }

            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", "Authorization must use the Bearer scheme");
            }

            context.Items[CallerKey] = _authenticator.Authenticate(header["Bearer ".Length..].Trim());
            context.Items[TokenKey] = header["Bearer ".Length..].Trim();
        }

        return _next(context);
    }

    public const string TokenKey = "scaidrive.token";

    public static Caller CallerOf(HttpContext context) =>
        context.Items[CallerKey] as Caller ?? throw ApiException.Unauthorized("AUTH_TOKEN_MISSING", "Authorization: Bearer <token> is required");
}

/// <summary>Turns a bearer token into a <see cref="Caller"/>; shared by the middleware and the sync socket.</summary>
internal sealed class Authenticator
{
    private readonly JwtTokens _tokens;
    private readonly Drive _drive;

    public Authenticator(JwtTokens tokens, Drive drive)
    {
        _tokens = tokens;
        _drive = drive;
    }

    /// <summary>Validates a raw token; throws 401 otherwise. Also used by the sync socket.</summary>
    public Caller Authenticate(string token)
    {
        TokenClaims claims = _tokens.Validate(token, out string? failure)
            ?? throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", $"Invalid token: {failure}");
        UserRow user = _drive.FindUser(claims.UserId) ?? throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", "Invalid token: unknown user");
        if (claims.TenantId != user.TenantId)
        {
            throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", "Invalid token: wrong tenant");
        }

        return new Caller(user.Id, user.TenantId, user.Email, user.Name);
    }

}
