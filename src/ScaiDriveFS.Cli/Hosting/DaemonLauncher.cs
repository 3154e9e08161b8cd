using System.Diagnostics;
using System.Reflection;

namespace ScaiDriveFS.Cli.Hosting;

/// <summary>
/// Background mode: re-runs this command as a detached child (`setsid`, so closing the terminal does not kill it)
/// with --foreground, and returns once the child reports the mount ready (exit 0) or failed (its reason, non-zero).
/// The child inherits the environment, so a token in SCAIDRIVE_TOKEN reaches it without showing in `ps`.
/// </summary>
internal static class DaemonLauncher
{
    public const string ReadyLine = "SCAIDRIVEFS-READY";
    public const string FailedLine = "SCAIDRIVEFS-FAILED";
    public const string ChildFlag = "--daemon-child";

    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromMinutes(2);

    public static async Task<int> LaunchAsync(IReadOnlyList<string> mountArguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Environment.ProcessPath ?? "dotnet");
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        }

        foreach (string argument in mountArguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--foreground");
        start.ArgumentList.Add(ChildFlag);

        using Process child = Process.Start(start) ?? throw new CliException("could not start the mount daemon.");
        child.StandardInput.Close();
        Task<string> stderr = child.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_readyTimeout);
        try
        {
            while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith(ReadyLine, StringComparison.Ordinal))
                {
                    return 0;
                }

                if (line.StartsWith(FailedLine, StringComparison.Ordinal))
                {
                    await Console.Error.WriteLineAsync("scaidrivefs: " + line[FailedLine.Length..].Trim());
                    await child.WaitForExitAsync(timeout.Token);
                    return child.ExitCode == 0 ? 1 : child.ExitCode;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            child.Kill(entireProcessTree: true);
            throw new CliException("the mount daemon did not become ready within 2 minutes; it was stopped.");
        }

        // The child closed its output without a verdict: it died. Show what it said.
        await child.WaitForExitAsync(cancellationToken);
        string said = (await stderr).Trim();
        throw new CliException($"the mount daemon exited with code {child.ExitCode} before the mount was ready" + (said.Length > 0 ? ":\n" + said : "."));
    }
}
