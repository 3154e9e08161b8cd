namespace ScaiDrive.Fuse;

/// <summary>The mount could not be set up (libfuse refused, the kernel never answered, the mount point is unusable).</summary>
public sealed class FuseMountException : Exception
{
    public FuseMountException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
