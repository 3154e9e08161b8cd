using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Endpoints;

/// <summary>Unauthenticated endpoints: health, readiness, config (§18), OAuth config and the token exchange (§2.3).</summary>
internal static class SystemEndpoints
{
    public const string Version = "0.1.0";

    public static void Map(IEndpointRouteBuilder app, ScaiDriveServerOptions options)
    {
        app.MapGet("/api/v1/health", () => Json.Ok(new { status = "healthy", version = Version }));
        app.MapGet("/api/v1/ready", () => Json.Ok(new { status = "ready", checks = new { database = true, storage = true } }));
        app.MapGet("/api/v1/config", () => Json.Ok(new
        {
            version = Version,
            features = new { semantic_search = false, external_sharing = true, smb_connector = false, sharepoint_connector = false },
            limits = new { max_file_size_bytes = options.MaxFileSizeBytes, max_upload_chunk_size_bytes = 4 * 1024 * 1024 },
        }));
        app.MapGet("/api/v1/auth/config", (HttpContext context) =>
        {
            string root = $"{context.Request.Scheme}://{context.Request.Host}";
            return Json.Ok(new
            {
                authorize_url = root + "/api/v1/auth/authorize",
                token_url = root + "/api/v1/auth/token",
                client_id = "scaidrive-desktop",
                desktop_callback_url = root + "/api/v1/auth/callback",
            });
        });
        app.MapPost("/api/v1/auth/token", async (HttpContext context, Drive drive, JwtTokens tokens) =>
        {
            if (!context.Request.HasFormContentType)
            {
                throw ApiException.MissingField("grant_type", "form");
            }

            IFormCollection form = await context.Request.ReadFormAsync(context.RequestAborted);
            string grant = form["grant_type"].FirstOrDefault() ?? throw ApiException.MissingField("grant_type", "form");
            if (grant != "refresh_token")
            {
                throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", $"grant_type '{grant}' is not supported by the local server; use refresh_token");
            }

            string refresh = form["refresh_token"].FirstOrDefault() ?? throw ApiException.MissingField("refresh_token", "form");
            UserRow user = drive.RedeemRefreshToken(refresh);
            return Json.Ok(new
            {
                access_token = tokens.Issue(user.Id, user.TenantId, user.Email, user.Name, options.AccessTokenLifetime),
                token_type = "Bearer",
                expires_in = (long)options.AccessTokenLifetime.TotalSeconds,
                refresh_token = drive.IssueRefreshToken(user.Id),
            });
        });
    }
}
