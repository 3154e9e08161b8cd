using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;

namespace ScaiDrive.Server.Endpoints;

/// <summary>Files (§7, §21.8): metadata, content, multipart upload, PATCH, DELETE, copy, move, versions.</summary>
internal static class FileEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/files/{fileId}", (HttpContext context, Drive drive, string fileId) =>
            Json.Ok(drive.GetFile(AuthenticationMiddleware.CallerOf(context), fileId)));
        app.MapMethods("/api/v1/files/{fileId}/content", ["GET", "HEAD"], (HttpContext context, Drive drive, string fileId) =>
            ContentResponder.SendAsync(context, drive.GetContent(AuthenticationMiddleware.CallerOf(context), fileId, context.Request.QueryLong("version"))));
        app.MapMethods("/api/v1/sync/download/{fileId}", ["GET", "HEAD"], (HttpContext context, Drive drive, string fileId) =>
        {
            Drive.ContentInfo content = drive.GetContent(AuthenticationMiddleware.CallerOf(context), fileId, context.Request.QueryLong("version"));
            long? start = context.Request.QueryLong("range_start");
            long? end = context.Request.QueryLong("range_end");
            ContentResponder.ByteRange? range = start is null && end is null
                ? null
                : new ContentResponder.ByteRange(start ?? 0, end ?? long.MaxValue - 1);
            return ContentResponder.SendAsync(context, content, range);
        });
        app.MapPost("/api/v1/files", UploadMultipartAsync);
        app.MapPatch("/api/v1/files/{fileId}", async (HttpContext context, Drive drive, string fileId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            return Json.Ok(drive.UpdateFile(
                AuthenticationMiddleware.CallerOf(context), fileId, body.OptionalString("name"), body.OptionalString("folder_id"),
                restore: body.OptionalBool("is_deleted") == false));
        });
        app.MapDelete("/api/v1/files/{fileId}", (HttpContext context, Drive drive, string fileId) =>
        {
            drive.DeleteFile(AuthenticationMiddleware.CallerOf(context), fileId, context.Request.QueryBool("permanent"));
            return Results.NoContent();
        });
        app.MapPost("/api/v1/files/{fileId}/copy", async (HttpContext context, Drive drive, string fileId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            (string? folder, string? share) = FolderEndpoints.Targets(body);
            return Json.Created(drive.CopyFile(AuthenticationMiddleware.CallerOf(context), fileId, folder, share, body.OptionalString("name")));
        });
        app.MapPost("/api/v1/files/{fileId}/move", async (HttpContext context, Drive drive, string fileId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            (string? folder, string? share) = FolderEndpoints.Targets(body);
            return Json.Ok(drive.MoveFile(AuthenticationMiddleware.CallerOf(context), fileId, folder, share, body.OptionalString("name")));
        });
        app.MapGet("/api/v1/files/{fileId}/versions", (HttpContext context, Drive drive, string fileId) =>
        {
            List<Drive.VersionDto> versions = drive.ListVersions(AuthenticationMiddleware.CallerOf(context), fileId);
            return Json.Ok(new { versions, total = versions.Count });
        });
        app.MapPost("/api/v1/files/{fileId}/versions/{version}/restore", (HttpContext context, Drive drive, string fileId, string version) =>
        {
            if (!long.TryParse(version, System.Globalization.CultureInfo.InvariantCulture, out long number))
            {
                throw new ApiException(422, "VALIDATION_ERROR", "version must be an integer")
                {
                    ValidationErrors = [new ValidationError(["path", "version"], "Input should be a valid integer", "int_parsing")],
                };
            }

            return Json.Ok(drive.RestoreVersion(AuthenticationMiddleware.CallerOf(context), fileId, number));
        });
    }

    /// <summary>
    /// <c>POST /files</c> (multipart): the file part is streamed into a blob writer (never buffered whole). When the
    /// form fields come first, permission and name are checked before any content is read.
    /// </summary>
    private static async Task<IResult> UploadMultipartAsync(HttpContext context, Drive drive)
    {
        Caller caller = AuthenticationMiddleware.CallerOf(context);
        HttpRequest request = context.Request;
        if (request.ContentLength is long declared && declared > drive.MaxFileSize + (1024 * 1024))
        {
            throw TooLarge(drive);
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out MediaTypeHeaderValue? mediaType) ||
            !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase) ||
            HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not string boundary || boundary.Length == 0)
        {
            throw ApiException.MissingField("file");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        string? uploadedName = null;
        string? partType = null;
        bool checkedEarly = false;
        await using BlobWriter writer = drive.Blobs.CreateWriter();
        bool haveFile = false;
        var reader = new MultipartReader(boundary, request.Body);
        MultipartSection? section;
        while ((section = await reader.ReadNextSectionAsync(context.RequestAborted)) is not null)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out ContentDispositionHeaderValue? disposition))
            {
                continue;
            }

            string name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? string.Empty;
            if (disposition.IsFileDisposition() || name == "file")
            {
                if (haveFile)
                {
                    continue;
                }

                haveFile = true;
                uploadedName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
                partType = section.ContentType;
                if (fields.TryGetValue("share_id", out string? earlyShare))
                {
                    drive.CheckCanCreateFile(caller, earlyShare, fields.GetValueOrDefault("folder_id"), fields.GetValueOrDefault("name") ?? uploadedName ?? "file", null);
                    checkedEarly = true;
                }

                await writer.CopyFromAsync(section.Body, drive.MaxFileSize, () => TooLarge(drive), context.RequestAborted);
            }
            else
            {
                using var text = new StreamReader(section.Body);
                char[] buffer = new char[64 * 1024];
                int read = await text.ReadBlockAsync(buffer, context.RequestAborted);
                fields[name] = new string(buffer, 0, read);
            }
        }

        string shareId = fields.GetValueOrDefault("share_id") ?? throw ApiException.MissingField("share_id");
        if (!haveFile)
        {
            throw ApiException.MissingField("file");
        }

        string fileName = fields.GetValueOrDefault("name") is { Length: > 0 } overridden ? overridden : uploadedName ?? throw ApiException.MissingField("name");
        string? folderId = fields.GetValueOrDefault("folder_id") is { Length: > 0 } folder ? folder : null;
        if (!checkedEarly)
        {
            drive.CheckCanCreateFile(caller, shareId, folderId, fileName, null);
        }

        StoredBlobInfo info = await writer.FinishAsync(context.RequestAborted);
        string? mime = partType is null or "application/octet-stream" ? null : partType;
        return Json.Created(drive.CreateFile(caller, shareId, folderId, fileName, mime, writer, info));
    }

    private static ApiException TooLarge(Drive drive) =>
        new(413, "PAYLOAD_TOO_LARGE", $"The file exceeds the per-file limit of {drive.MaxFileSize} bytes");
}
