using Microsoft.AspNetCore.Routing;

namespace ScaiDrive.Server.Endpoints;

/// <summary>External links (§15, §21.15).</summary>
internal static class LinkEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        _ = app;
    }
}
