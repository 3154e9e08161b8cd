using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Endpoints;

/// <summary>
/// Test and operator endpoints outside <c>/api/v1</c>, authorized by the admin token (<c>DIR/admin-token</c>) as a
/// bearer token: users, shares, memberships, quotas, token minting, faults and change-log compaction.
/// </summary>
internal static class AdminEndpoints
{
    public static readonly TimeSpan LongLivedToken = TimeSpan.FromDays(3650);

    public static void Map(IEndpointRouteBuilder app, string adminToken, FaultSettings faults)
    {
        RouteGroupBuilder admin = app.MapGroup("/_admin");
        admin.AddEndpointFilter(async (invocation, next) =>
        {
            string header = invocation.HttpContext.Request.Headers.Authorization.ToString();
            byte[] given = Encoding.UTF8.GetBytes(header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : string.Empty);
            if (!CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(adminToken)))
            {
                throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", "Admin endpoints need the admin token as a bearer token");
            }

            return await next(invocation);
        });

        admin.MapGet("/info", (Drive drive) =>
        {
            UserRow owner = drive.FindUser(drive.OwnerUserId)!;
            return Json.Ok(new { tenant_id = drive.TenantId, owner_user_id = owner.Id, default_share_id = owner.PersonalShareId });
        });
        admin.MapPost("/users", async (HttpContext context, Drive drive, JwtTokens tokens) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            UserRow user = drive.CreateUser(body.RequiredString("name"), body.OptionalString("email"));
            return Json.Created(new
            {
                user_id = user.Id,
                name = user.Name,
                email = user.Email,
                personal_share_id = user.PersonalShareId,
                token = tokens.Issue(user.Id, user.TenantId, user.Email, user.Name, LongLivedToken),
            });
        });
        admin.MapPost("/shares", async (HttpContext context, Drive drive) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            ShareRow share = drive.CreateShare(
                body.RequiredString("name"), body.RequiredString("owner_id"), body.OptionalString("share_type") ?? "project",
                body.OptionalLong("quota_bytes"), body.OptionalString("description"));
            return Json.Created(new { share_id = share.Id, name = share.Name, owner_id = share.OwnerId, quota_bytes = share.QuotaBytes });
        });
        admin.MapPut("/shares/{shareId}/members/{userId}", async (HttpContext context, Drive drive, string shareId, string userId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            return Json.Ok(drive.SetMember(null, shareId, userId, body.RequiredString("role"), mustBeNew: false));
        });
        admin.MapPut("/shares/{shareId}/quota", async (HttpContext context, Drive drive, string shareId) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            long? quota = body.OptionalLong("quota_bytes");
            drive.SetQuota(shareId, quota);
            return Json.Ok(new { share_id = shareId, quota_bytes = quota });
        });
        admin.MapPost("/tokens", async (HttpContext context, Drive drive, JwtTokens tokens) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            UserRow user = drive.FindUser(body.RequiredString("user_id")) ?? throw ApiException.NotFound("User");
            long seconds = body.OptionalLong("lifetime_seconds") ?? 3600;
            return Json.Created(new
            {
                access_token = tokens.Issue(user.Id, user.TenantId, user.Email, user.Name, TimeSpan.FromSeconds(seconds)),
                token_type = "Bearer",
                expires_in = seconds,
                refresh_token = drive.IssueRefreshToken(user.Id),
            });
        });
        admin.MapGet("/faults", () => Json.Ok(FaultsDto(faults)));
        admin.MapPut("/faults", async (HttpContext context) =>
        {
            JsonBody body = await Json.ReadBodyAsync(context.Request);
            try
            {
                faults.ErrorRate = body.OptionalDouble("error_rate") ?? faults.ErrorRate;
                faults.Rate429 = body.OptionalDouble("rate_429") ?? faults.Rate429;
                faults.ResetRate = body.OptionalDouble("reset_rate") ?? faults.ResetRate;
                faults.LatencyMs = (int)(body.OptionalLong("latency_ms") ?? faults.LatencyMs);
            }
            catch (ArgumentOutOfRangeException ex)
            {
                throw ApiException.Validation("faults", ex.Message.Split(Environment.NewLine)[0]);
            }

            return Json.Ok(FaultsDto(faults));
        });
        admin.MapPost("/changes/compact", async (HttpContext context, Drive drive) =>
        {
            long? upTo = context.Request.ContentLength is > 0 ? (await Json.ReadBodyAsync(context.Request)).OptionalLong("up_to") : null;
            drive.CompactChanges(upTo);
            return Results.NoContent();
        });
    }

    private static object FaultsDto(FaultSettings faults) =>
        new { error_rate = faults.ErrorRate, rate_429 = faults.Rate429, reset_rate = faults.ResetRate, latency_ms = faults.LatencyMs };
}
