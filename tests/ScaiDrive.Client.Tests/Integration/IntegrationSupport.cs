using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Integration;

internal static class Clients
{
    /// <summary>A client of <paramref name="server"/> with quick backoff (the server's Retry-After is still honoured).</summary>
    public static ScaiDriveClient For(LocalServer server, string? token = null, string? refreshToken = null, ILoggerFactory? loggers = null, int maxRetries = 8) =>
        new(new ScaiDriveClientOptions
        {
            BaseUrl = server.BaseUrl,
            Credentials = new ScaiDriveCredentials { AccessToken = token ?? server.OwnerToken, RefreshToken = refreshToken },
            BaseBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromSeconds(2),
            MaxRetries = maxRetries,
            LoggerFactory = loggers,
        });
}

/// <summary>An upload source over a byte array that records which offsets were read (a chunk is read once per send).</summary>
internal sealed class RecordingSource(byte[] data, Func<long, bool>? failAt = null) : IUploadSource
{
    public ConcurrentBag<long> Offsets { get; } = [];

    public long Length => data.Length;

    public ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (failAt?.Invoke(offset) == true)
        {
            throw new IOException($"Scripted local read failure at {offset}.");
        }

        Offsets.Add(offset);
        int n = (int)Math.Min(buffer.Length, data.Length - offset);
        data.AsSpan((int)offset, n).CopyTo(buffer.Span);
        return ValueTask.FromResult(n);
    }
}

/// <summary>Captures the client's log events (to see that no retry happened).</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(EventId Id, string Message)> Events { get; } = new();

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Events.Enqueue((eventId, formatter(state, exception)));
    }
}
