using System.Net;
using System.Text;
using ScaiDrive.Client.Auth;
using ScaiDrive.Client.Http;

namespace ScaiDrive.Client.Tests.Unit;

public sealed class ApiErrorsTests
{
    private static readonly DateTimeOffset s_now = new(2026, 4, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void HybridEnvelope_GivesCodeMessageRequestIdAndRetryAfter()
    {
        var body = """{"detail":"slow down","status":"error","error":{"code":"RATE_LIMITED","message":"Too many","retry_after":22,"details":{"dimension":"token"}},"meta":{"request_id":"req_body"}}"""u8;
        var ex = ApiErrors.FromParts(HttpStatusCode.TooManyRequests, body, requestIdHeader: null, retryAfterHeader: null, request: null, TokenScrubber.None);

        Assert.Equal(ScaiDriveErrorKind.RateLimited, ex.Kind);
        Assert.Equal("RATE_LIMITED", ex.ErrorCode);
        Assert.Equal("req_body", ex.RequestId);
        Assert.Equal(TimeSpan.FromSeconds(22), ex.RetryAfter);
        Assert.Contains("Too many", ex.Message);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public void HeaderRequestIdAndRetryAfter_WinOverTheBody()
    {
        var body = """{"error":{"code":"RATE_LIMITED","retry_after":22},"meta":{"request_id":"req_body"}}"""u8;
        var ex = ApiErrors.FromParts(HttpStatusCode.TooManyRequests, body, "req_header", TimeSpan.FromSeconds(3), null, TokenScrubber.None);
        Assert.Equal("req_header", ex.RequestId);
        Assert.Equal(TimeSpan.FromSeconds(3), ex.RetryAfter);
    }

    [Fact]
    public void PlainFastApiDetail_HasNoCodeAndStatusDecides()
    {
        var ex = ApiErrors.FromParts(HttpStatusCode.Forbidden, """{"detail":"Permission denied: WRITE on file/fil_1"}"""u8, null, null, null, TokenScrubber.None);
        Assert.Equal(ScaiDriveErrorKind.Forbidden, ex.Kind);
        Assert.Null(ex.ErrorCode);
        Assert.Contains("Permission denied: WRITE on file/fil_1", ex.Message);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public void ValidationArray_IsDescribedFieldByField()
    {
        var body = """{"detail":[{"loc":["body","name"],"msg":"field required","type":"missing"}]}"""u8;
        var ex = ApiErrors.FromParts(HttpStatusCode.UnprocessableEntity, body, null, null, null, TokenScrubber.None);
        Assert.Equal(ScaiDriveErrorKind.InvalidRequest, ex.Kind);
        Assert.Contains("body.name: field required", ex.Message);
    }

    [Fact]
    public void NonJsonBody_IsKeptAsShortExcerpt()
    {
        var ex = ApiErrors.FromParts(HttpStatusCode.BadGateway, Encoding.UTF8.GetBytes("<html>bad gateway</html>"), null, null, null, TokenScrubber.None);
        Assert.Equal(ScaiDriveErrorKind.Unavailable, ex.Kind);
        Assert.Contains("bad gateway", ex.Message);
    }

    [Theory]
    [InlineData(400, null, ScaiDriveErrorKind.InvalidRequest)]
    [InlineData(401, "AUTH_TOKEN_INVALID", ScaiDriveErrorKind.Unauthorized)]
    [InlineData(403, "LEGAL_HOLD_BLOCKED_DELETION", ScaiDriveErrorKind.Forbidden)]
    [InlineData(404, null, ScaiDriveErrorKind.NotFound)]
    [InlineData(409, "NAME_CONFLICT", ScaiDriveErrorKind.NameConflict)]
    [InlineData(409, "ALREADY_EXISTS", ScaiDriveErrorKind.NameConflict)]
    [InlineData(409, "SYNC_CONFLICT", ScaiDriveErrorKind.VersionConflict)]
    [InlineData(409, "UPLOAD_INCOMPLETE", ScaiDriveErrorKind.Conflict)]
    [InlineData(409, null, ScaiDriveErrorKind.Conflict)]
    [InlineData(410, "CURSOR_EXPIRED", ScaiDriveErrorKind.Gone)]
    [InlineData(410, "UPLOAD_SESSION_EXPIRED", ScaiDriveErrorKind.Gone)]
    [InlineData(412, null, ScaiDriveErrorKind.VersionConflict)]
    [InlineData(413, "PAYLOAD_TOO_LARGE", ScaiDriveErrorKind.PayloadTooLarge)]
    [InlineData(422, "CHECKSUM_MISMATCH", ScaiDriveErrorKind.InvalidRequest)]
    [InlineData(429, "RATE_LIMITED", ScaiDriveErrorKind.RateLimited)]
    [InlineData(500, "INTERNAL_ERROR", ScaiDriveErrorKind.Unavailable)]
    [InlineData(502, null, ScaiDriveErrorKind.Unavailable)]
    [InlineData(503, "UPSTREAM_UNAVAILABLE", ScaiDriveErrorKind.Unavailable)]
    [InlineData(504, "UPSTREAM_TIMEOUT", ScaiDriveErrorKind.Unavailable)]
    [InlineData(507, "QUOTA_EXCEEDED", ScaiDriveErrorKind.QuotaExceeded)]
    [InlineData(507, null, ScaiDriveErrorKind.QuotaExceeded)]
    [InlineData(501, null, ScaiDriveErrorKind.Other)]
    [InlineData(418, null, ScaiDriveErrorKind.Other)]
    public void KindMapping_StatusFirstCodeRefines(int status, string? code, ScaiDriveErrorKind expected) =>
        Assert.Equal(expected, ApiErrors.KindOf((HttpStatusCode)status, code));

    [Fact]
    public void PermanentKinds_AreNotTransient()
    {
        foreach (var status in new[] { 403, 404, 409, 410, 413, 422, 507 })
        {
            var ex = ApiErrors.FromParts((HttpStatusCode)status, [], null, null, null, TokenScrubber.None);
            Assert.False(ex.IsTransient, $"status {status}");
        }
    }

    [Fact]
    public void RetryAfter_DeltaDateAndGarbage()
    {
        Assert.Equal(TimeSpan.FromSeconds(7), ApiErrors.ParseRetryAfter("7", s_now));
        Assert.Equal(TimeSpan.FromSeconds(30), ApiErrors.ParseRetryAfter(s_now.AddSeconds(30).ToString("R"), s_now));
        Assert.Equal(TimeSpan.Zero, ApiErrors.ParseRetryAfter(s_now.AddSeconds(-30).ToString("R"), s_now));
        Assert.Null(ApiErrors.ParseRetryAfter("soon", s_now));
        Assert.Null(ApiErrors.ParseRetryAfter((string?)null, s_now));
    }

    [Fact]
    public void Message_NeverContainsTheToken()
    {
        var tokens = new TokenSource(new ScaiDriveCredentials { AccessToken = "eyJ.secret-access.sig", RefreshToken = "rt_secret_refresh" });
        var body = """{"detail":"bad token eyJ.secret-access.sig (refresh rt_secret_refresh)","error":{"code":"AUTH_TOKEN_INVALID","message":"token eyJ.secret-access.sig rejected"}}"""u8;
        var ex = ApiErrors.FromParts(HttpStatusCode.Unauthorized, body, null, null, null, tokens);
        Assert.DoesNotContain("secret-access", ex.Message);
        Assert.DoesNotContain("secret-access", ex.ToString());
        Assert.Contains("***", ex.Message);
    }
}
