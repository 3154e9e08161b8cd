using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Endpoints;

/// <summary><c>/users/me*</c> (§4), shares and members (§5, §21.14) and per-share quotas (§16).</summary>
internal static class UserAndShareEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/users/me", (HttpContext context) =>
        {
            Caller caller = AuthenticationMiddleware.CallerOf(context);
            return Json.Ok(new
            {
                id = caller.UserId,
                email = caller.Email,
                name = caller.Name,
                display_name = caller.Name,
                tenant_id = caller.TenantId,
                partner_id = (string?)null,
                groups = Array.Empty<string>(),
                scopes = JwtTokens.DefaultScope.Split(' '),
                is_admin = false,
                admin_role = (string?)null,
            });
        });
        app.MapGet("/api/v1/users/me/shares", (HttpContext context, Drive drive) => ListShares(context, drive));
        app.MapGet("/api/v1/shares", (HttpContext context, Drive drive) => ListShares(context, drive));
        app.MapGet("/api/v1/users/me/quota", (HttpContext context, Drive drive) =>
        {
            Caller caller = AuthenticationMiddleware.CallerOf(context);
            (long used, long? quota) = drive.UserQuota(caller);
            return Json.Ok(new
            {
                user_id = caller.UserId,
                used_bytes = used,
                quota_bytes = quota,
                percent_used = quota is > 0 ? Math.Round(100.0 * used / quota.Value, 2) : 0,
            });
        });
        app.MapPost("/api/v1/shares", async (HttpContext context, Drive drive) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            string name = body.RequiredString("name");
            string type = body.RequiredString("share_type");
            if (type is not ("central" or "personal" or "project"))
            {
                throw ApiException.Validation("share_type", "share_type must be central, personal or project");
            }

            return Json.Created(drive.CreateShareFor(
                AuthenticationMiddleware.CallerOf(context), name, type, body.OptionalString("owner_id"), body.OptionalLong("quota_bytes"), body.OptionalString("description")));
        });
        app.MapGet("/api/v1/shares/{shareId}", (HttpContext context, Drive drive, string shareId) =>
            Json.Ok(drive.GetShare(AuthenticationMiddleware.CallerOf(context), shareId)));
        app.MapPatch("/api/v1/shares/{shareId}", async (HttpContext context, Drive drive, string shareId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            return Json.Ok(drive.UpdateShare(AuthenticationMiddleware.CallerOf(context), shareId, body.OptionalString("name"), body.OptionalString("description")));
        });
        app.MapDelete("/api/v1/shares/{shareId}", (HttpContext context, Drive drive, string shareId) =>
        {
            drive.DeleteShare(AuthenticationMiddleware.CallerOf(context), shareId);
            return Results.NoContent();
        });
        app.MapGet("/api/v1/shares/{shareId}/members", (HttpContext context, Drive drive, string shareId) =>
        {
            List<Drive.MemberDto> members = drive.ListMembers(AuthenticationMiddleware.CallerOf(context), shareId);
            return Json.Ok(new { members, total = members.Count });
        });
        app.MapPost("/api/v1/shares/{shareId}/members", async (HttpContext context, Drive drive, string shareId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            string principalType = body.OptionalString("principal_type") ?? "user";
            if (principalType != "user")
            {
                throw ApiException.Validation("principal_type", "only user principals are supported by the local server");
            }

            return Json.Created(drive.SetMember(AuthenticationMiddleware.CallerOf(context), shareId, body.RequiredString("principal_id"), body.RequiredString("role"), mustBeNew: true));
        });
        app.MapPatch("/api/v1/shares/{shareId}/members/{memberId}", async (HttpContext context, Drive drive, string shareId, string memberId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            return Json.Ok(drive.SetMember(AuthenticationMiddleware.CallerOf(context), shareId, memberId, body.RequiredString("role"), mustBeNew: false));
        });
        app.MapDelete("/api/v1/shares/{shareId}/members/{memberId}", (HttpContext context, Drive drive, string shareId, string memberId) =>
        {
            drive.RemoveMember(AuthenticationMiddleware.CallerOf(context), shareId, memberId);
            return Results.NoContent();
        });
        app.MapGet("/api/v1/quotas/shares/{shareId}", (HttpContext context, Drive drive, string shareId) =>
        {
            ShareDto share = drive.GetShare(AuthenticationMiddleware.CallerOf(context), shareId);
            return Json.Ok(new { target_type = "share", target_id = share.Id, limit_bytes = share.QuotaBytes, used_bytes = share.UsedBytes, limit_type = "hard" });
        });
        app.MapPut("/api/v1/quotas/shares/{shareId}", async (HttpContext context, Drive drive, string shareId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            Caller caller = AuthenticationMiddleware.CallerOf(context);
            if (drive.GetShare(caller, shareId).Role is not ("owner" or "admin"))
            {
                throw ApiException.Forbidden("MANAGE_PERMISSIONS", $"share/{shareId}");
            }

            drive.SetQuota(shareId, body.OptionalLong("limit_bytes"));
            ShareDto share = drive.GetShare(caller, shareId);
            return Json.Ok(new { target_type = "share", target_id = share.Id, limit_bytes = share.QuotaBytes, used_bytes = share.UsedBytes, limit_type = "hard" });
        });
    }

    private static IResult ListShares(HttpContext context, Drive drive)
    {
        int limit = context.Request.QueryInt("limit", 50, 1, 100);
        int offset = context.Request.QueryInt("offset", 0, 0, int.MaxValue);
        (List<ShareDto> shares, int total) = drive.ListShares(AuthenticationMiddleware.CallerOf(context), limit, offset);
        return Json.Ok(new { shares, total });
    }
}
