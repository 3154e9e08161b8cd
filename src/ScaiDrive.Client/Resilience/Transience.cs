using System.Net;
using Polly.Timeout;

namespace ScaiDrive.Client.Resilience;

/// <summary>Which failures are worth another attempt, and which may have taken effect on the server.</summary>
internal static class Transience
{
    /// <summary>5xx (not 507), 408, 429, timeouts, refused/reset/dropped connections.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        ScaiDriveApiException api => api.IsTransient,
        HttpRequestException => true,
        IOException => true,
        TimeoutRejectedException => true,
        _ => false,
    };

    /// <summary>
    /// True when the request may have been applied even though it failed: the response was lost (reset, timeout)
    /// or the server failed while processing (500/502/504). 429 and 503 are answered before any work is done,
    /// and a refused connection never reached the server.
    /// </summary>
    public static bool IsAmbiguous(Exception ex) => ex switch
    {
        ScaiDriveApiException api => api.StatusCode is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout,
        HttpRequestException http => http.HttpRequestError is not (HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError),
        IOException => true,
        TimeoutRejectedException => true,
        _ => false,
    };
}
