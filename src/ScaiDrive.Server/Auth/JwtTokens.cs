using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ScaiDrive.Server.Auth;

/// <summary>
/// HS256 JWTs with the claims ScaiDrive reads (§2.1: sub, tenant_id, email, name, scope, iss, exp). The signing
/// key lives in the database, so tokens written to <c>DIR/token</c> stay valid across restarts.
/// </summary>
internal sealed class JwtTokens
{
    public const string Issuer = "scaidrive-local";
    public const string DefaultScope = "files:read files:write";

    private readonly byte[] _key;
    private readonly TimeProvider _time;

    public JwtTokens(byte[] key, TimeProvider time)
    {
        _key = key;
        _time = time;
    }

    public string Issue(string userId, string tenantId, string email, string name, TimeSpan lifetime)
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        var payload = new Dictionary<string, object>
        {
            ["sub"] = userId,
            ["tenant_id"] = tenantId,
            ["email"] = email,
            ["name"] = name,
            ["scope"] = DefaultScope,
            ["iss"] = Issuer,
            ["iat"] = now,
            ["exp"] = now + (long)lifetime.TotalSeconds,
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        string header = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8);
        string body = Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload));
        string signature = Base64Url(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(header + "." + body)));
        return header + "." + body + "." + signature;
    }

    /// <summary>Returns the token's user and tenant, or null with a reason (never the token itself).</summary>
    public TokenClaims? Validate(string token, out string? failure)
    {
        failure = null;
        string[] parts = token.Split('.');
        if (parts.Length != 3)
        {
            failure = "malformed token";
            return null;
        }

        byte[] expected = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        byte[]? actual = FromBase64Url(parts[2]);
        if (actual is null || !CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            failure = "bad signature";
            return null;
        }

        try
        {
            using JsonDocument header = JsonDocument.Parse(FromBase64Url(parts[0]) ?? []);
            if (header.RootElement.GetProperty("alg").GetString() != "HS256")
            {
                failure = "unsupported algorithm";
                return null;
            }

            using JsonDocument payload = JsonDocument.Parse(FromBase64Url(parts[1]) ?? []);
            JsonElement claims = payload.RootElement;
            if (claims.GetProperty("iss").GetString() != Issuer)
            {
                failure = "wrong issuer";
                return null;
            }

            if (claims.GetProperty("exp").GetInt64() <= _time.GetUtcNow().ToUnixTimeSeconds())
            {
                failure = "token expired";
                return null;
            }

            return new TokenClaims(claims.GetProperty("sub").GetString()!, claims.GetProperty("tenant_id").GetString()!);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            failure = "malformed claims";
            return null;
        }
    }

    public static string HashSecret(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(ReadOnlySpan<byte> data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[]? FromBase64Url(string text)
    {
        string padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", _ => string.Empty };
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

internal sealed record TokenClaims(string UserId, string TenantId);
