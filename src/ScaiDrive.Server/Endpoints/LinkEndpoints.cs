using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Endpoints;

/// <summary>
/// External links (§15) and their public endpoints (§21.15): <c>GET /external/public/{token}</c>,
/// <c>POST …/verify</c>, <c>GET …/download</c>. The password travels in <c>X-Link-Password</c> or <c>?password=</c>.
/// </summary>
internal static class LinkEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/external/links", async (HttpContext context, Drive drive, ScaiDriveServerOptions options) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            DateTimeOffset? expires = ParseTime(body.OptionalString("expires_at"), "expires_at");
            if (body.OptionalLong("expires_in_days") is long days)
            {
                expires = options.TimeProvider.GetUtcNow().AddDays(days);
            }

            var request = new Drive.CreateLink(
                body.RequiredString("resource_type"), body.RequiredString("resource_id"), body.RequiredString("share_id"), body.RequiredString("link_type"),
                body.OptionalString("password"), expires, body.OptionalLong("max_downloads"), body.OptionalLong("max_views"),
                body.OptionalString("custom_name"), body.OptionalString("custom_message"));
            return Json.Created(drive.CreateLinkFor(AuthenticationMiddleware.CallerOf(context), request, PublicRoot(context)));
        });
        app.MapGet("/api/v1/external/links", (HttpContext context, Drive drive) =>
        {
            HttpRequest request = context.Request;
            List<Drive.LinkDto> links = drive.ListLinks(AuthenticationMiddleware.CallerOf(context), request.Query("share_id"), request.Query("resource_id"), request.Query("status"), PublicRoot(context));
            int limit = request.QueryInt("limit", 50, 1, 100);
            int offset = request.QueryInt("offset", 0, 0, int.MaxValue);
            return Json.Ok(new { links = links.Skip(offset).Take(limit).ToList(), total = links.Count });
        });
        app.MapGet("/api/v1/external/links/{linkId}", (HttpContext context, Drive drive, string linkId) =>
            Json.Ok(drive.GetLink(AuthenticationMiddleware.CallerOf(context), linkId, PublicRoot(context))));
        app.MapPatch("/api/v1/external/links/{linkId}", async (HttpContext context, Drive drive, string linkId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            var changes = new Drive.LinkChanges(
                body.OptionalString("password"), body.OptionalBool("password_required") == false, ParseTime(body.OptionalString("expires_at"), "expires_at"),
                body.OptionalLong("max_downloads"), body.OptionalLong("max_views"), body.OptionalString("custom_name"), body.OptionalString("custom_message"),
                body.OptionalString("status"));
            return Json.Ok(drive.UpdateLink(AuthenticationMiddleware.CallerOf(context), linkId, changes, PublicRoot(context)));
        });
        app.MapDelete("/api/v1/external/links/{linkId}", (HttpContext context, Drive drive, string linkId) =>
        {
            drive.RevokeLink(AuthenticationMiddleware.CallerOf(context), linkId);
            return Results.NoContent();
        });

        app.MapGet("/api/v1/external/public/{token}", (HttpContext context, Drive drive, string token) =>
            Json.Ok(drive.OpenPublicLink(token, Password(context))));
        app.MapPost("/api/v1/external/public/{token}/verify", async (HttpContext context, Drive drive, string token) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            drive.VerifyLinkPassword(token, body.RequiredString("password"));
            return Json.Ok(new { valid = true });
        });
        app.MapMethods("/api/v1/external/public/{token}/download", ["GET", "HEAD"], (HttpContext context, Drive drive, string token) =>
            ContentResponder.SendAsync(context, drive.DownloadPublicLink(token, Password(context), context.Request.Query("file_id"))));
    }

    private static string PublicRoot(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}/api/v1/external/public/";

    private static string? Password(HttpContext context) =>
        context.Request.Headers["X-Link-Password"].FirstOrDefault() ?? context.Request.Query("password");

    private static DateTimeOffset? ParseTime(string? text, string field)
    {
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset value)
            ? value
            : throw ApiException.Validation(field, "Input should be an ISO-8601 timestamp");
    }
}
