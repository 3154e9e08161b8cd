namespace ScaiDriveFS.Cli;

/// <summary>A failure the user caused or can fix: printed as one line, never as a stack trace.</summary>
internal sealed class CliException : Exception
{
    public CliException(string message, int exitCode = 1)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }
}
