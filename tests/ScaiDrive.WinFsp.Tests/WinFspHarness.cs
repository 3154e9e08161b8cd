using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

/// <summary>Records what the adapter asks of the DLL: pending completions by hint, and change notifications.</summary>
internal sealed class RecordingDriver : IWinFspDriver
{
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<FspTransactResponse>> _responses = new();

    public ConcurrentQueue<(uint Filter, uint Action, string Path)> Notifications { get; } = new();

    public int BeginCalls;

    public Task<FspTransactResponse> ResponseFor(ulong hint) =>
        _responses.GetOrAdd(hint, _ => new TaskCompletionSource<FspTransactResponse>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void SendResponse(in FspTransactResponse response)
    {
        Assert.Equal(FspTransactResponse.Size, response.ResponseSize);
        _responses.GetOrAdd(response.Hint, _ => new TaskCompletionSource<FspTransactResponse>(TaskCreationOptions.RunContinuationsAsynchronously))
            .TrySetResult(response);
    }

    public int NotifyBegin(TimeSpan timeout)
    {
        Interlocked.Increment(ref BeginCalls);
        return NtStatus.Success;
    }

    public int Notify(ReadOnlySpan<byte> notifyInfoBuffer)
    {
        foreach ((uint Filter, uint Action, string Path) entry in NotifyBuffer.Parse(notifyInfoBuffer))
        {
            Notifications.Enqueue(entry);
        }

        return NtStatus.Success;
    }

    public int NotifyEnd() => NtStatus.Success;
}

/// <summary>
/// A <see cref="WinFspFileSystem"/> over a real <see cref="VfsFileSystem"/> over the local server, driven the way
/// WinFsp's dispatcher drives it: native buffers for reads, writes and listings, a fresh Hint per request, and
/// STATUS_PENDING answered by waiting for the matching FspFileSystemSendResponse.
/// </summary>
internal sealed class WinFspHarness : IAsyncDisposable
{
    private long _nextHint = 1000;

    private WinFspHarness(LocalServer server, ScaiDriveClient client, VfsFileSystem vfs, WinFspFileSystem fs, RecordingDriver driver, string cacheDirectory)
    {
        Server = server;
        Client = client;
        Vfs = vfs;
        Fs = fs;
        Driver = driver;
        CacheDirectory = cacheDirectory;
    }

    public LocalServer Server { get; }

    public ScaiDriveClient Client { get; }

    public VfsFileSystem Vfs { get; }

    public WinFspFileSystem Fs { get; }

    public RecordingDriver Driver { get; }

    public string CacheDirectory { get; }

    public ShareId Share => new(Server.DefaultShareId);

    public static async Task<WinFspHarness> StartAsync(WinFspMountOptions? options = null, bool readOnly = false)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        LocalServer server = await LocalServer.StartAsync(ct: ct);
        string cache = Path.Combine(Path.GetTempPath(), "scaidrive-winfsp-" + Guid.NewGuid().ToString("N"));
        ScaiDriveClient? client = null;
        try
        {
            client = server.CreateOwnerClient();
            VfsFileSystem vfs = await VfsFileSystem.CreateAsync(client, new VfsOptions
            {
                CacheDirectory = cache,
                Share = new ShareId(server.DefaultShareId),
                FollowChanges = false,
                ReadOnly = readOnly,
                WriteBackDelay = TimeSpan.FromMilliseconds(10),
                AttributeTimeout = TimeSpan.FromMilliseconds(1),
                EntryTimeout = TimeSpan.FromMilliseconds(1),
                NegativeEntryTimeout = TimeSpan.FromMilliseconds(1),
            }, NullLoggerFactory.Instance, ct);
            RecordingDriver driver = new();
            WinFspFileSystem fs = new(vfs, options ?? new WinFspMountOptions { MountPoint = "S:" }, driver, NullLogger.Instance);
            return new WinFspHarness(server, client, vfs, fs, driver, cache);
        }
        catch
        {
            client?.Dispose();
            await server.DisposeAsync();
            TryDelete(cache);
            throw;
        }
    }

    public ulong NextHint() => (ulong)Interlocked.Increment(ref _nextHint);

    // ---- dispatcher-shaped helpers ---------------------------------------------------------------

    public ulong CreateFile(string path, uint createOptions = 0)
    {
        int status = Fs.Create(path, createOptions, Win32.FileAllAccess, Win32.FileAttributeNormal, 0, out ulong context, out _, out _);
        Assert.Equal(NtStatus.Success, status);
        return context;
    }

    public ulong OpenOk(string path, uint grantedAccess = Win32.FileAllAccess, uint createOptions = 0)
    {
        int status = Fs.Open(path, createOptions, grantedAccess, out ulong context, out _, out _);
        Assert.Equal(NtStatus.Success, status);
        return context;
    }

    public void CloseHandle(ulong context, bool delete = false)
    {
        Fs.Cleanup(context, null, delete ? Win32.FspCleanupDelete : 0);
        Fs.Close(context);
    }

    public async Task<(int Status, uint Bytes)> WriteAsync(ulong context, long offset, byte[] data, bool toEnd = false, bool constrained = false)
    {
        nint buffer = NativeAlloc(data.Length);
        try
        {
            Marshal.Copy(data, 0, buffer, data.Length);
            ulong hint = NextHint();
            int status = Fs.Write(context, buffer, toEnd ? ulong.MaxValue : (ulong)offset, (uint)data.Length, toEnd, constrained, out uint bytes, out _, hint);
            if (status == NtStatus.Pending)
            {
                FspTransactResponse response = await Driver.ResponseFor(hint).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
                Assert.Equal(FspTransactKind.Write, response.Kind);
                return (response.IoStatusStatus, response.IoStatusInformation);
            }

            return (status, bytes);
        }
        finally
        {
            NativeFree(buffer);
        }
    }

    public async Task<(int Status, byte[] Data)> ReadAsync(ulong context, long offset, int length)
    {
        nint buffer = NativeAlloc(length);
        try
        {
            ulong hint = NextHint();
            int status = Fs.Read(context, buffer, (ulong)offset, (uint)length, out uint bytes, hint);
            if (status == NtStatus.Pending)
            {
                FspTransactResponse response = await Driver.ResponseFor(hint).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
                Assert.Equal(FspTransactKind.Read, response.Kind);
                status = response.IoStatusStatus;
                bytes = response.IoStatusInformation;
            }

            byte[] data = new byte[bytes];
            Marshal.Copy(buffer, data, 0, (int)bytes);
            return (status, data);
        }
        finally
        {
            NativeFree(buffer);
        }
    }

    /// <summary>One ReadDirectory call into a buffer of <paramref name="length"/> bytes.</summary>
    public async Task<(int Status, List<string> Names, bool Complete)> ReadDirectoryOnceAsync(ulong context, string? marker, int length)
    {
        nint buffer = NativeAlloc(length);
        try
        {
            ulong hint = NextHint();
            int status = Fs.ReadDirectory(context, null, marker, buffer, (uint)length, out uint bytes, hint);
            if (status == NtStatus.Pending)
            {
                FspTransactResponse response = await Driver.ResponseFor(hint).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
                Assert.Equal(FspTransactKind.QueryDirectory, response.Kind);
                status = response.IoStatusStatus;
                bytes = response.IoStatusInformation;
            }

            byte[] data = new byte[bytes];
            Marshal.Copy(buffer, data, 0, (int)bytes);
            (List<(string Name, FspFileInfo Info)> entries, bool complete) = DirInfoWriter.Parse(data);
            return (status, entries.Select(e => e.Name).ToList(), complete);
        }
        finally
        {
            NativeFree(buffer);
        }
    }

    /// <summary>The whole listing as the FSD gathers it: repeated calls with the last name as the marker.</summary>
    public async Task<List<string>> ListAsync(string path, int bufferLength = 4096)
    {
        ulong context = OpenOk(path, Win32.FileGenericRead, Win32.FileDirectoryFile);
        try
        {
            List<string> all = [];
            string? marker = null;
            for (int calls = 0; calls < 1000; calls++)
            {
                (int status, List<string> names, bool complete) = await ReadDirectoryOnceAsync(context, marker, bufferLength);
                Assert.Equal(NtStatus.Success, status);
                all.AddRange(names);
                if (complete || names.Count == 0)
                {
                    return all;
                }

                marker = names[^1];
            }

            throw new InvalidOperationException("The listing did not end.");
        }
        finally
        {
            CloseHandle(context);
        }
    }

    public async Task WriteWholeFileAsync(string path, byte[] content)
    {
        ulong context = CreateFile(path);
        (int status, uint bytes) = await WriteAsync(context, 0, content);
        Assert.Equal(NtStatus.Success, status);
        Assert.Equal((uint)content.Length, bytes);
        CloseHandle(context);
    }

    public async Task<byte[]> ReadWholeFileAsync(string path)
    {
        ulong context = OpenOk(path, Win32.FileGenericRead);
        try
        {
            Assert.Equal(NtStatus.Success, Fs.GetFileInfo(context, out FspFileInfo info));
            (int status, byte[] data) = await ReadAsync(context, 0, (int)Math.Max(info.FileSize, 1));
            Assert.Equal(info.FileSize == 0 ? NtStatus.EndOfFile : NtStatus.Success, status);
            return data;
        }
        finally
        {
            CloseHandle(context);
        }
    }

    /// <summary>What the server holds in the share root (after pending uploads drained).</summary>
    public async Task<(List<string> Files, List<string> Folders)> ServerRootAsync()
    {
        await Vfs.DrainAsync(cancellationToken: TestContext.Current.CancellationToken);
        FolderListing listing = await Client.ListChildrenAsync(Share, null, cancellationToken: TestContext.Current.CancellationToken);
        return (listing.Files.Select(f => f.Name).Order(StringComparer.Ordinal).ToList(), listing.Folders.Select(f => f.Name).Order(StringComparer.Ordinal).ToList());
    }

    public async Task<byte[]> ServerContentAsync(string name)
    {
        FolderListing listing = await Client.ListChildrenAsync(Share, null, cancellationToken: TestContext.Current.CancellationToken);
        FileItem file = listing.Files.Single(f => f.Name == name);
        byte[] data = new byte[file.Size];
        int read = file.Size == 0 ? 0 : await Client.ReadRangeAsync(file.Id, 0, data, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(file.Size, read);
        return data;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Vfs.DisposeAsync();
        }
        finally
        {
            Client.Dispose();
            await Server.DisposeAsync();
            TryDelete(CacheDirectory);
        }
    }

    private static unsafe nint NativeAlloc(int length) => (nint)NativeMemory.AllocZeroed((nuint)Math.Max(length, 1));

    private static unsafe void NativeFree(nint buffer) => NativeMemory.Free((void*)buffer);

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
