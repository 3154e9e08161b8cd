using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Endpoints;

/// <summary>Resumable uploads (§8, §21.3).</summary>
internal static class UploadEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/uploads", async (HttpContext context, Drive drive) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            var request = new Drive.CreateUpload(
                body.RequiredString("share_id"),
                body.OptionalString("folder_id"),
                body.RequiredString("file_name"),
                body.RequiredLong("file_size"),
                (int)Math.Clamp(body.OptionalLong("chunk_size") ?? 4 * 1024 * 1024, int.MinValue, int.MaxValue),
                body.OptionalString("mime_type"),
                body.OptionalString("checksum_sha256"),
                body.OptionalString("replace_file_id"),
                body.OptionalString("base_version_id"),
                body.OptionalStringArray("chunk_hashes"));
            return Json.Created(await drive.CreateUploadAsync(AuthenticationMiddleware.CallerOf(context), request, context.RequestAborted));
        });
        app.MapGet("/api/v1/uploads/{sessionId}", (HttpContext context, Drive drive, string sessionId) =>
            Json.Ok(drive.GetUpload(AuthenticationMiddleware.CallerOf(context), sessionId)));
        app.MapPut("/api/v1/uploads/{sessionId}/chunks/{index}", async (HttpContext context, Drive drive, string sessionId, string index) =>
        {
            if (!int.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int chunk))
            {
                throw new ApiException(422, "VALIDATION_ERROR", "chunk index must be a non-negative integer")
                {
                    ValidationErrors = [new ValidationError(["path", "index"], "Input should be a valid integer", "int_parsing")],
                };
            }

            string? sha = context.Request.Headers["X-Chunk-SHA256"].FirstOrDefault();
            return Json.Ok(await drive.PutChunkAsync(AuthenticationMiddleware.CallerOf(context), sessionId, chunk, context.Request.BodyReader, sha, context.RequestAborted));
        });
        app.MapPost("/api/v1/uploads/{sessionId}/complete", async (HttpContext context, Drive drive, string sessionId) =>
        {
            FileDto file = await drive.CompleteUploadAsync(AuthenticationMiddleware.CallerOf(context), sessionId, context.RequestAborted);
            return Json.Created(CompletedFileDto.From(file));
        });
        app.MapPatch("/api/v1/uploads/{sessionId}", async (HttpContext context, Drive drive, string sessionId) =>
        {
            // Our extension (a real ScaiDrive answers 404/405): see Drive.UploadResize.cs.
            if (!drive.UploadResizeEnabled)
            {
                context.Response.Headers.Allow = "GET, DELETE";
                return Results.StatusCode(StatusCodes.Status405MethodNotAllowed);
            }

            JsonBody body = await Json.ReadBodyAsync(context.Request);
            return Json.Ok(drive.ResizeUpload(AuthenticationMiddleware.CallerOf(context), sessionId, body.RequiredLong("file_size"), body.OptionalString("checksum_sha256")));
        });
        app.MapDelete("/api/v1/uploads/{sessionId}", (HttpContext context, Drive drive, string sessionId) =>
        {
            drive.AbortUpload(AuthenticationMiddleware.CallerOf(context), sessionId);
            return Results.NoContent();
        });
    }
}
