using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Endpoints;

/// <summary>The change feed, devices and cursors (§11.4, §21.4). <c>sync/download</c> lives with the file endpoints.</summary>
internal static class SyncEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sync/changes", (HttpContext context, Drive drive) =>
        {
            HttpRequest request = context.Request;
            Drive.ChangesPage page = drive.GetChanges(
                AuthenticationMiddleware.CallerOf(context), request.Query("share_id"), request.Query("cursor"), request.QueryInt("limit", 1000, 1, 5000));
            return Json.Ok(new { changes = page.Changes, cursor = page.Cursor, has_more = page.HasMore, share_id = page.ShareId });
        });
        app.MapGet("/api/v1/sync/status", (HttpContext context, Drive drive) =>
            Json.Ok(drive.GetSyncStatus(AuthenticationMiddleware.CallerOf(context), context.Request.RequiredQuery("share_id"), context.Request.RequiredQuery("device_id"))));
        app.MapPost("/api/v1/sync/cursor", (HttpContext context, Drive drive) =>
        {
            HttpRequest request = context.Request;
            long position = request.QueryLong("position") ?? throw ApiException.MissingField("position", "query");
            return Json.Ok(drive.SetCursor(AuthenticationMiddleware.CallerOf(context), request.RequiredQuery("share_id"), request.RequiredQuery("device_id"), position));
        });
        app.MapGet("/api/v1/sync/devices", (HttpContext context, Drive drive) =>
            Json.Ok(drive.ListDevices(AuthenticationMiddleware.CallerOf(context))));
        app.MapPost("/api/v1/sync/devices", async (HttpContext context, Drive drive) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            return Json.Created(drive.RegisterDevice(
                AuthenticationMiddleware.CallerOf(context), body.RequiredString("device_id"), body.OptionalString("device_name"),
                body.OptionalString("platform"), body.OptionalString("client_version")));
        });
        app.MapGet("/api/v1/sync/conflicts", (HttpContext context) =>
        {
            AuthenticationMiddleware.CallerOf(context);
            return Json.Ok(Array.Empty<object>());
        });
    }
}
