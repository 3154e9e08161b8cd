using System.CommandLine;
using ScaiDriveFS.Cli.Commands;

namespace ScaiDriveFS.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("ScaiDriveFS: a ScaiDrive as a normal disk (FUSE on Linux, WinFsp on Windows).")
        {
            MountCommand.Create(),
            UnmountCommand.Create(),
            StatusCommand.Create(),
            ServeCommand.Create(),
        };
        try
        {
            return await root.Parse(args).InvokeAsync();
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync("scaidrivefs: " + ex.Message);
            return ex.ExitCode;
        }
    }
}
