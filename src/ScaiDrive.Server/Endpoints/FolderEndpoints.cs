using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Endpoints;

/// <summary>Folders (§6, §21.7). <c>root</c> with <c>share_id</c> names a share's root.</summary>
internal static class FolderEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/folders/{folderId}", (HttpContext context, Drive drive, string folderId) =>
            Json.Ok(drive.GetFolder(AuthenticationMiddleware.CallerOf(context), folderId, context.Request.Query("share_id"))));
        app.MapGet("/api/v1/folders/{folderId}/children", (HttpContext context, Drive drive, string folderId) =>
        {
            HttpRequest request = context.Request;
            string? shareId = folderId == Drive.RootAlias ? request.RequiredQuery("share_id") : request.Query("share_id");
            Drive.ChildrenPage page = drive.ListChildren(
                AuthenticationMiddleware.CallerOf(context), folderId, shareId, request.QueryBool("include_deleted"),
                request.QueryInt("limit", 1000, 1, 5000), request.QueryInt("offset", 0, 0, int.MaxValue));
            return Json.Ok(new { items = page.Items, path = page.Path, total = page.Total, limit = page.Limit, offset = page.Offset });
        });
        app.MapPost("/api/v1/folders", async (HttpContext context, Drive drive) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            string shareId = body.RequiredString("share_id");
            string name = body.RequiredString("name");
            return Json.Created(drive.CreateFolder(AuthenticationMiddleware.CallerOf(context), shareId, body.OptionalString("parent_id"), name));
        });
        app.MapPatch("/api/v1/folders/{folderId}", async (HttpContext context, Drive drive, string folderId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            Caller caller = AuthenticationMiddleware.CallerOf(context);
            FolderDto? result = null;
            if (body.OptionalBool("is_deleted") == false)
            {
                result = drive.RestoreFolder(caller, folderId);
            }

            if (body.Has("parent_id"))
            {
                result = drive.MoveFolder(caller, folderId, body.OptionalString("parent_id"), null, body.OptionalString("name"));
            }
            else if (body.OptionalString("name") is string name)
            {
                result = drive.RenameFolder(caller, folderId, name);
            }

            return Json.Ok(result ?? drive.GetFolder(caller, folderId, null));
        });
        app.MapPost("/api/v1/folders/{folderId}/move", async (HttpContext context, Drive drive, string folderId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            (string? targetFolder, string? targetShare) = Targets(body);
            return Json.Ok(drive.MoveFolder(AuthenticationMiddleware.CallerOf(context), folderId, targetFolder, targetShare, body.OptionalString("name")));
        });
        app.MapDelete("/api/v1/folders/{folderId}", (HttpContext context, Drive drive, string folderId) =>
        {
            drive.DeleteFolder(AuthenticationMiddleware.CallerOf(context), folderId, context.Request.QueryBool("permanent"));
            return Results.NoContent();
        });
    }

    /// <summary>Copy/move targets: one of <c>target_folder_id</c> or <c>target_share_id</c> (the share's root).</summary>
    public static (string? Folder, string? Share) Targets(JsonBody body)
    {
        string? folder = body.OptionalString("target_folder_id");
        string? share = body.OptionalString("target_share_id");
        if (folder is null && share is null)
        {
            throw ApiException.MissingField("target_folder_id");
        }

        return (folder, share);
    }
}
