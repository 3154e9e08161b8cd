namespace ScaiDrive.Vfs.Tests.Reading;

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("sdfs-read-").FullName;
    }

    public string Path { get; }

    public long FileBytes => Directory.EnumerateFiles(Path, "*.data").Sum(f => new FileInfo(f).Length);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
