using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace ScaiDriveFS.Cli.Logging;

/// <summary>
/// Appends log lines to one file (the daemon's log in the cache directory). A single writer thread drains a queue,
/// so logging never blocks a filesystem callback on disk I/O. Messages come from [LoggerMessage] methods that never
/// carry tokens.
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly BlockingCollection<string> _lines = new(boundedCapacity: 10_000);
    private readonly Thread _writer;
    private readonly LogLevel _minimum;

    public FileLoggerProvider(string path, LogLevel minimum)
    {
        _minimum = minimum;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = false };
        _writer = new Thread(() => Drain(writer)) { IsBackground = true, Name = "log-writer" };
        _writer.Start();
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, ShortCategory(categoryName));

    public void Dispose()
    {
        _lines.CompleteAdding();
        _writer.Join(TimeSpan.FromSeconds(5));
    }

    private void Drain(StreamWriter writer)
    {
        using (writer)
        {
            foreach (string line in _lines.GetConsumingEnumerable())
            {
                writer.WriteLine(line);
                if (_lines.Count == 0)
                {
                    writer.Flush();
                }
            }
        }
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var builder = new StringBuilder(128);
        builder.Append(DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
            .Append(' ').Append(LevelName(level)).Append(' ').Append(category).Append(": ").Append(message);
        if (exception is not null)
        {
            builder.Append(" | ").Append(exception.GetType().Name).Append(": ").Append(exception.Message);
        }

        // Never block the caller: when the writer falls behind, drop rather than stall a filesystem call.
        _lines.TryAdd(builder.ToString());
    }

    private static string ShortCategory(string category)
    {
        int dot = category.LastIndexOf('.');
        return dot >= 0 ? category[(dot + 1)..] : category;
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
