namespace ScaiDrive.Client.Auth;

/// <summary>Removes every secret the client holds from a text before it reaches a message or a log.</summary>
internal abstract class TokenScrubber
{
    public static TokenScrubber None { get; } = new NoneScrubber();

    public abstract string Scrub(string text);

    private sealed class NoneScrubber : TokenScrubber
    {
        public override string Scrub(string text) => text;
    }
}

/// <summary>
/// The bearer token and the refresh token. Precedence: the token file when one is configured and readable
/// (re-read whenever its mtime or length changes), else the latest refreshed token, else the configured token.
/// A refresh is single-flight: concurrent 401s share one POST /auth/token.
/// </summary>
internal sealed class TokenSource : TokenScrubber
{
    private readonly object _gate = new();
    private readonly string? _tokenFile;

    // Guarded by _gate.
    private string? _accessToken;
    private string? _refreshToken;
    private DateTime _fileMtime;
    private long _fileLength = -1;
    private Task? _refreshInFlight;
    private readonly List<string> _retiredSecrets = [];

    public TokenSource(ScaiDriveCredentials credentials)
    {
        _tokenFile = string.IsNullOrWhiteSpace(credentials.TokenFile) ? null : credentials.TokenFile;
        _accessToken = Normalize(credentials.AccessToken);
        _refreshToken = Normalize(credentials.RefreshToken);
    }

    public bool CanRefresh
    {
        get
        {
            lock (_gate)
            {
                return _refreshToken is not null;
            }
        }
    }

    /// <summary>The token to send now; null when none is configured (the server answers 401).</summary>
    public string? GetAccessToken()
    {
        if (_tokenFile is not null)
        {
            ReloadFileIfChanged();
        }

        lock (_gate)
        {
            return _accessToken;
        }
    }

    public string? GetRefreshToken()
    {
        lock (_gate)
        {
            return _refreshToken;
        }
    }

    /// <summary>
    /// Refreshes unless another caller already replaced <paramref name="failedToken"/>; joins a refresh in flight.
    /// <paramref name="refresher"/> gets the refresh token and returns (access, rotated refresh or null).
    /// </summary>
    public Task RefreshAsync(
        string? failedToken,
        Func<string, CancellationToken, Task<(string Access, string? Refresh)>> refresher,
        CancellationToken cancellationToken)
    {
        Task task;
        lock (_gate)
        {
            if (_accessToken is not null && !string.Equals(_accessToken, failedToken, StringComparison.Ordinal))
            {
                return Task.CompletedTask;
            }

            if (_refreshInFlight is null)
            {
                string refreshToken = _refreshToken ?? throw new InvalidOperationException("No refresh token configured.");
                // Not tied to the first caller's token: a caller that gives up must not fail the others.
                _refreshInFlight = RunRefreshAsync(refreshToken, refresher);
            }

            task = _refreshInFlight;
        }

        return task.WaitAsync(cancellationToken);
    }

    private async Task RunRefreshAsync(string refreshToken, Func<string, CancellationToken, Task<(string Access, string? Refresh)>> refresher)
    {
        try
        {
            var (access, rotated) = await refresher(refreshToken, CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                Retire(_accessToken);
                _accessToken = access;
                if (rotated is not null)
                {
                    Retire(_refreshToken);
                    _refreshToken = rotated;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _refreshInFlight = null;
            }
        }
    }

    public override string Scrub(string text)
    {
        lock (_gate)
        {
            text = ScrubOne(text, _accessToken);
            text = ScrubOne(text, _refreshToken);
            foreach (var old in _retiredSecrets)
            {
                text = ScrubOne(text, old);
            }
        }

        return text;
    }

    private static string ScrubOne(string text, string? secret) =>
        secret is { Length: >= 4 } && text.Contains(secret, StringComparison.Ordinal) ? text.Replace(secret, "***", StringComparison.Ordinal) : text;

    // Caller holds _gate. Old secrets stay scrubbed: a late error body may still echo one.
    private void Retire(string? secret)
    {
        if (secret is not null)
        {
            _retiredSecrets.Add(secret);
            if (_retiredSecrets.Count > 16)
            {
                _retiredSecrets.RemoveAt(0);
            }
        }
    }

    private void ReloadFileIfChanged()
    {
        var info = new FileInfo(_tokenFile!);
        DateTime mtime;
        long length;
        try
        {
            if (!info.Exists)
            {
                return;
            }

            mtime = info.LastWriteTimeUtc;
            length = info.Length;
        }
        catch (IOException)
        {
            return;
        }

        lock (_gate)
        {
            if (mtime == _fileMtime && length == _fileLength)
            {
                return;
            }
        }

        string? token;
        try
        {
            token = Normalize(File.ReadAllText(_tokenFile!));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Being rewritten or unreadable: keep what we have and look again on the next request.
            return;
        }

        lock (_gate)
        {
            _fileMtime = mtime;
            _fileLength = length;
            if (token is not null && !string.Equals(token, _accessToken, StringComparison.Ordinal))
            {
                Retire(_accessToken);
                _accessToken = token;
            }
        }
    }

    private static string? Normalize(string? token)
    {
        token = token?.Trim();
        return string.IsNullOrEmpty(token) ? null : token;
    }
}
