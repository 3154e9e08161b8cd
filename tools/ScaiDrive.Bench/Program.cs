using System.Text.Json;
using ScaiDrive.Client;

namespace ScaiDrive.Bench;

/// <summary>
/// <c>scaidrive-bench</c>: client-level measurements for scripts/bench.sh against a running ScaiDrive server.
/// Each command prints one JSON object on stdout and diagnostics on stderr; exit 0 on success, 1 on failure, 2 on usage.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: scaidrive-bench COMMAND --url URL --token-file FILE --share SHARE_ID [options]
          download --file-id ID --size BYTES [--mode ranged|stream] [--range-mb 32] [--parallel 2] [--warmup 1]
              reads the whole file into a null sink; prints {"bytes","seconds","how"}
          upload --size BYTES [--parallel 4] [--chunk-mb 4]
              resumable upload of BYTES of generated (incompressible, never repeated) content; prints {"bytes","seconds","how"}
          changes --mount DIR --count N [--timeout-s 15] [--poll-ms 5]
              N changes made through the API (new files and new versions, alternating); for each, the time from the API
              call's return until the mount shows the new content; prints {"median_ms","worst_ms",...}
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            await Console.Error.WriteLineAsync(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        BenchArguments parsed;
        try
        {
            parsed = BenchArguments.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"scaidrive-bench: {ex.Message}\n{Usage}");
            return 2;
        }

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };

        try
        {
            using var client = new ScaiDriveClient(new ScaiDriveClientOptions
            {
                BaseUrl = new Uri(parsed.Required("url")),
                Credentials = new ScaiDriveCredentials { TokenFile = parsed.Required("token-file") },
            });
            var share = new ShareId(parsed.Required("share"));
            Dictionary<string, object> result = args[0] switch
            {
                "download" => await DownloadBenchmark.RunAsync(client, parsed, cts.Token),
                "upload" => await UploadBenchmark.RunAsync(client, share, parsed, cts.Token),
                "changes" => await ChangeLatencyBenchmark.RunAsync(client, share, parsed, cts.Token),
                _ => throw new ArgumentException($"unknown command {args[0]}"),
            };
            Console.WriteLine(JsonSerializer.Serialize(result, BenchJsonContext.Default.DictionaryStringObject));
            return 0;
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"scaidrive-bench: {ex.Message}\n{Usage}");
            return 2;
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or IOException or OperationCanceledException or TimeoutException or NotImplementedException)
        {
            await Console.Error.WriteLineAsync($"scaidrive-bench {args[0]}: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
    }
}
