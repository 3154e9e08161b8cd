using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace ScaiDrive.Client.Resilience;

/// <summary>
/// One Polly pipeline per class of operation. Each is: overall deadline → retry → per-attempt timeout.
/// <list type="bullet">
/// <item><see cref="Metadata"/>: idempotent calls (GET, PATCH rename, move, DELETE by ID, set cursor); short attempts.</item>
/// <item><see cref="Transfer"/>: idempotent bulk transfers (ranged GET, chunk PUT); long attempts.</item>
/// <item><see cref="Create"/>: non-idempotent creates whose effect can be checked (the caller's attempt probes first).</item>
/// <item><see cref="CreateUnchecked"/>: non-idempotent calls with no way to check: retried only when the server
/// certainly did nothing (429, 503, connection refused).</item>
/// </list>
/// </summary>
internal sealed class ClientPipelines
{
    public ClientPipelines(ScaiDriveClientOptions options, ILogger logger)
    {
        Metadata = Build(options, logger, options.AttemptTimeout, Transience.IsTransient);
        Transfer = Build(options, logger, options.TransferAttemptTimeout, Transience.IsTransient);
        Create = Build(options, logger, options.TransferAttemptTimeout, Transience.IsTransient);
        CreateUnchecked = Build(options, logger, options.AttemptTimeout, static ex => Transience.IsTransient(ex) && !Transience.IsAmbiguous(ex));
    }

    public ResiliencePipeline Metadata { get; }

    public ResiliencePipeline Transfer { get; }

    public ResiliencePipeline Create { get; }

    public ResiliencePipeline CreateUnchecked { get; }

    private static ResiliencePipeline Build(ScaiDriveClientOptions options, ILogger logger, TimeSpan attemptTimeout, Func<Exception, bool> retryable)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider };
        if (options.OperationDeadline > TimeSpan.Zero && options.OperationDeadline != Timeout.InfiniteTimeSpan)
        {
            builder.AddTimeout(options.OperationDeadline);
        }

        if (options.MaxRetries > 0)
        {
            TimeSpan baseBackoff = options.BaseBackoff;
            TimeSpan maxBackoff = options.MaxBackoff;
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && retryable(ex)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    Backoff.ForFailure(args.Outcome.Exception, args.AttemptNumber, baseBackoff, maxBackoff, Random.Shared.NextDouble())),
                OnRetry = args =>
                {
                    Log.Retrying(logger, args.AttemptNumber + 1, args.RetryDelay, Describe(args.Outcome.Exception));
                    return ValueTask.CompletedTask;
                },
            });
        }

        if (attemptTimeout > TimeSpan.Zero && attemptTimeout != Timeout.InfiniteTimeSpan)
        {
            builder.AddTimeout(attemptTimeout);
        }

        return builder.Build();
    }

    // The exception's message has already been scrubbed of tokens (ApiErrors); transport messages carry none.
    private static string Describe(Exception? ex) => ex is null ? "no exception" : $"{ex.GetType().Name}: {ex.Message}";
}
