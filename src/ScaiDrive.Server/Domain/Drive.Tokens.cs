using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Domain;

// Refresh tokens (§21.2): random "rt_" secrets stored only as hashes; each use rotates (the old one dies).
internal sealed partial class Drive
{
    public static readonly TimeSpan RefreshTokenLifetime = TimeSpan.FromDays(30);

    public string IssueRefreshToken(string userId)
    {
        string token = "rt_" + Ids.Secret();
        _db.Write(db => db.Exec(
            "INSERT INTO refresh_tokens(token_hash, user_id, expires_at) VALUES ($h, $u, $e)",
            ("$h", JwtTokens.HashSecret(token)), ("$u", userId), ("$e", Time.Format(_time.GetUtcNow() + RefreshTokenLifetime))));
        return token;
    }

    /// <summary>Consumes a refresh token; returns its user, or throws 401 AUTH_TOKEN_INVALID (unknown, used or expired).</summary>
    public UserRow RedeemRefreshToken(string token) => _db.Write(db =>
    {
        string hash = JwtTokens.HashSecret(token);
        (string UserId, string ExpiresAt, bool Used)? row = db.Query(
            "SELECT user_id, expires_at, used FROM refresh_tokens WHERE token_hash=$h",
            r => (r.GetString(0), r.GetString(1), r.GetInt64(2) != 0),
            ("$h", hash)).Select(x => ((string, string, bool)?)x).FirstOrDefault();
        if (row is null || row.Value.Used || Time.Parse(row.Value.ExpiresAt) <= _time.GetUtcNow())
        {
            throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", "Refresh token is invalid, expired or already used");
        }

        db.Exec("UPDATE refresh_tokens SET used=1 WHERE token_hash=$h", ("$h", hash));
        return db.QuerySingle($"SELECT {UserRow.Columns} FROM users WHERE id=$id", UserRow.Read, ("$id", row.Value.UserId))
            ?? throw ApiException.Unauthorized("AUTH_TOKEN_INVALID", "Refresh token's user no longer exists");
    });
}
