namespace ScaiDrive.Server;

/// <summary>
/// A start-up failure with a message meant for a person (bad option, busy port, unusable data directory).
/// An <see cref="InvalidOperationException"/>, so callers that already catch that print it cleanly.
/// </summary>
public sealed class ScaiDriveServerException : InvalidOperationException
{
    public ScaiDriveServerException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
