using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using ScaiDrive.Server;
using ScaiDriveFS.Cli.Hosting;

namespace ScaiDriveFS.Cli.Commands;

/// <summary>`scaidrivefs serve [--data DIR] [--listen ADDR:PORT] [fault options]`: the local ScaiDrive server.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Data directory (metadata, blobs, tokens). Default: ~/.local/share/scaidrivefs/server." };
        var listen = new Option<string>("--listen") { Description = "Address and port to listen on.", DefaultValueFactory = _ => "127.0.0.1:8421" };
        var errorRate = new Option<double>("--fault-error-rate") { Description = "Fraction of API requests answered 503 (testing)." };
        var rate429 = new Option<double>("--fault-429-rate") { Description = "Fraction of API requests answered 429 with Retry-After: 1 (testing)." };
        var resetRate = new Option<double>("--fault-reset-rate") { Description = "Fraction of responses whose connection is dropped mid-body (testing)." };
        var latency = new Option<int>("--fault-latency-ms") { Description = "Latency added to every API request, in ms (testing)." };
        var rateLimit = new Option<int?>("--rate-limit-per-minute") { Description = "Rate-limit units per token per minute (default: effectively unlimited)." };
        var maxFileSize = new Option<string?>("--max-file-size") { Description = "Largest file accepted, e.g. 5G (413 PAYLOAD_TOO_LARGE above it)." };
        var command = new Command("serve", "Run the local, API-compatible ScaiDrive server.") { data, listen, errorRate, rate429, resetRate, latency, rateLimit, maxFileSize };
        command.SetAction(async (ParseResult parse, CancellationToken cancellationToken) =>
        {
            string dataDirectory = Path.GetFullPath(parse.GetValue(data) ?? UserPaths.EmbeddedServerData);
            foreach ((Option<double> option, double value) in new[] { (errorRate, parse.GetValue(errorRate)), (rate429, parse.GetValue(rate429)), (resetRate, parse.GetValue(resetRate)) })
            {
                if (value is < 0 or > 1)
                {
                    await Console.Error.WriteLineAsync($"scaidrivefs: {option.Name} must be between 0 and 1.");
                    return 2;
                }
            }

            var options = new ScaiDriveServerOptions
            {
                DataDirectory = dataDirectory,
                Listen = parse.GetValue(listen)!,
                FaultErrorRate = parse.GetValue(errorRate),
                Fault429Rate = parse.GetValue(rate429),
                FaultResetRate = parse.GetValue(resetRate),
                FaultLatencyMs = parse.GetValue(latency),
            };
            if (parse.GetValue(rateLimit) is { } perMinute)
            {
                options.RateLimitPerTokenPerMinute = perMinute;
            }

            if (parse.GetValue(maxFileSize) is { } sizeText)
            {
                if (!SizeParser.TryParse(sizeText, out long maxBytes) || maxBytes <= 0)
                {
                    await Console.Error.WriteLineAsync($"scaidrivefs: --max-file-size '{sizeText}' is not a size (examples: 100M, 5G).");
                    return 2;
                }

                options.MaxFileSizeBytes = maxBytes;
            }

            ScaiDriveServer server;
            try
            {
                Directory.CreateDirectory(dataDirectory);
                server = await ScaiDriveServer.StartAsync(options, cancellationToken);
            }
            catch (Exception ex) when (ex is ScaiDriveServerException or IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync("scaidrivefs: cannot start the server: " + ex.Message);
                return 1;
            }

            await using (server)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ScaiDrive server listening on {server.BaseUrl}"));
                Console.WriteLine($"data directory: {server.DataDirectory}");
                Console.WriteLine($"token file:     {server.TokenFile}");
                Console.WriteLine($"try: SCAIDRIVE_URL={server.BaseUrl} SCAIDRIVE_TOKEN=$(cat {server.TokenFile}) scaidrivefs mount /mnt/scaidrive");
                var stop = new TaskCompletionSource();
                using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult(); });
                using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult(); });
                await stop.Task.WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                await server.StopAsync();
            }

            return 0;
        });
        return command;
    }
}
