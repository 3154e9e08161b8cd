namespace ScaiDrive.Server;

/// <summary>
/// Fault injection for tests, applied to every <c>/api/v1</c> request except health and the sync socket.
/// Mutable while the server runs (directly or through <c>PUT /_admin/faults</c>); each value is read once per request.
/// </summary>
public sealed class FaultSettings
{
    private double _errorRate;
    private double _rate429;
    private double _resetRate;
    private int _latencyMs;

    /// <summary>Fraction (0–1) of requests answered 503 UPSTREAM_UNAVAILABLE.</summary>
    public double ErrorRate { get => Volatile.Read(ref _errorRate); set => Volatile.Write(ref _errorRate, CheckRate(value)); }

    /// <summary>Fraction (0–1) of requests answered 429 RATE_LIMITED with <c>Retry-After: 1</c>.</summary>
    public double Rate429 { get => Volatile.Read(ref _rate429); set => Volatile.Write(ref _rate429, CheckRate(value)); }

    /// <summary>Fraction (0–1) of requests whose connection is aborted part-way through the response body.</summary>
    public double ResetRate { get => Volatile.Read(ref _resetRate); set => Volatile.Write(ref _resetRate, CheckRate(value)); }

    /// <summary>Milliseconds of delay before each request is handled.</summary>
    public int LatencyMs
    {
        get => Volatile.Read(ref _latencyMs);
        set => Volatile.Write(ref _latencyMs, value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "latency must be >= 0"));
    }

    /// <summary>True when any fault is switched on.</summary>
    public bool Any => ErrorRate > 0 || Rate429 > 0 || ResetRate > 0 || LatencyMs > 0;

    internal static double CheckRate(double value) =>
        value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "a fault rate must be between 0 and 1");
}
