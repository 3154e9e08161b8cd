using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ScaiDrive.Server.Infrastructure;

/// <summary>
/// Gives every request an ID (<c>X-Request-ID</c>, echoed from the client when it sent one) and turns every
/// failure into the §21.1 hybrid envelope: <c>{detail, status, error{code, message, retry_after, details}, meta{request_id}}</c>.
/// </summary>
internal sealed partial class ErrorEnvelopeMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public ErrorEnvelopeMiddleware(RequestDelegate next, ILogger<ErrorEnvelopeMiddleware> logger, ScaiDriveServerOptions options)
    {
        _next = next;
        _logger = logger;
        _time = options.TimeProvider;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        string requestId = context.Request.Headers["X-Request-ID"] is { Count: > 0 } given && given[0]!.Length <= 128
            ? given[0]!
            : Ids.New("req", _time);
        context.Items[RequestIdKey] = requestId;
        context.Response.Headers["X-Request-ID"] = requestId;
        try
        {
            await _next(context);
        }
        catch (ApiException ex)
        {
            if (!context.Response.HasStarted)
            {
                await WriteAsync(context, ex);
            }
            else
            {
                context.Abort();
            }
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            // The client went away; nothing to answer.
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            if (!context.Response.HasStarted)
            {
                await WriteAsync(context, new ApiException(ex.StatusCode, ex.StatusCode == 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST", ex.Message));
            }
        }
        catch (Exception ex)
        {
            LogUnhandled(_logger, ex, context.Request.Method, context.Request.Path.Value ?? string.Empty, requestId);
            if (!context.Response.HasStarted)
            {
                await WriteAsync(context, new ApiException(500, "INTERNAL_ERROR", "Unexpected server error"));
            }
            else
            {
                context.Abort();
            }
        }
    }

    public const string RequestIdKey = "scaidrive.request_id";

    public static async Task WriteAsync(HttpContext context, ApiException ex)
    {
        string requestId = context.Items[RequestIdKey] as string ?? "req_unknown";
        context.Response.Clear();
        context.Response.Headers["X-Request-ID"] = requestId;
        if (ex.RetryAfterSeconds is int retry)
        {
            context.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (ex.Headers is { } headers)
        {
            foreach ((string name, string value) in headers)
            {
                context.Response.Headers[name] = value;
            }
        }

        object detail = ex.ValidationErrors is { } errors ? errors : ex.Message;
        var body = new ErrorBody(
            detail,
            "error",
            new ErrorInfo(ex.Code, ex.Message, ex.RetryAfterSeconds ?? 0, ex.Details ?? new Dictionary<string, object>()),
            new ErrorMeta(requestId));
        await Json.WriteAsync(context, ex.Status, body);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path} (request {RequestId})")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path, string requestId);

    private sealed record ErrorBody(object Detail, string Status, ErrorInfo Error, ErrorMeta Meta);

    private sealed record ErrorInfo(string Code, string Message, int RetryAfter, object Details);

    private sealed record ErrorMeta(string RequestId);
}
