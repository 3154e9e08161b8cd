namespace ScaiDrive.Server;

/// <summary>A start-up failure with a message meant for a person (bad option, busy port, unusable data directory).</summary>
public sealed class ScaiDriveServerException : Exception
{
    public ScaiDriveServerException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
