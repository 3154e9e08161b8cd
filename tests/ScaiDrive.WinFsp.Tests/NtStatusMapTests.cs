using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

public sealed class NtStatusMapTests
{
    [Theory]
    // Values from the Windows SDK's ntstatus.h.
    [InlineData(VfsErrorCode.NotFound, 0xC0000034u)]          // STATUS_OBJECT_NAME_NOT_FOUND
    [InlineData(VfsErrorCode.AlreadyExists, 0xC0000035u)]     // STATUS_OBJECT_NAME_COLLISION
    [InlineData(VfsErrorCode.NotEmpty, 0xC0000101u)]          // STATUS_DIRECTORY_NOT_EMPTY
    [InlineData(VfsErrorCode.NotADirectory, 0xC0000103u)]     // STATUS_NOT_A_DIRECTORY
    [InlineData(VfsErrorCode.IsADirectory, 0xC00000BAu)]      // STATUS_FILE_IS_A_DIRECTORY
    [InlineData(VfsErrorCode.AccessDenied, 0xC0000022u)]      // STATUS_ACCESS_DENIED
    [InlineData(VfsErrorCode.ReadOnly, 0xC00000A2u)]          // STATUS_MEDIA_WRITE_PROTECTED
    [InlineData(VfsErrorCode.QuotaExceeded, 0xC000007Fu)]     // STATUS_DISK_FULL
    [InlineData(VfsErrorCode.FileTooLarge, 0xC0000904u)]      // STATUS_FILE_TOO_LARGE
    [InlineData(VfsErrorCode.InvalidName, 0xC0000033u)]       // STATUS_OBJECT_NAME_INVALID
    [InlineData(VfsErrorCode.NameTooLong, 0xC0000106u)]       // STATUS_NAME_TOO_LONG
    [InlineData(VfsErrorCode.NotSupported, 0xC00000BBu)]      // STATUS_NOT_SUPPORTED
    [InlineData(VfsErrorCode.CrossDevice, 0xC00000D4u)]       // STATUS_NOT_SAME_DEVICE
    [InlineData(VfsErrorCode.InvalidArgument, 0xC000000Du)]   // STATUS_INVALID_PARAMETER
    [InlineData(VfsErrorCode.Unavailable, 0xC000023Cu)]       // STATUS_NETWORK_UNREACHABLE
    [InlineData(VfsErrorCode.TimedOut, 0xC00000B5u)]          // STATUS_IO_TIMEOUT
    [InlineData(VfsErrorCode.Stale, 0xC0000098u)]             // STATUS_FILE_INVALID
    [InlineData(VfsErrorCode.Busy, 0xC0000043u)]              // STATUS_SHARING_VIOLATION
    [InlineData(VfsErrorCode.Interrupted, 0xC0000120u)]       // STATUS_CANCELLED
    [InlineData(VfsErrorCode.IoError, 0xC00000E9u)]           // STATUS_UNEXPECTED_IO_ERROR
    public void Table(VfsErrorCode code, uint expected) => Assert.Equal(unchecked((int)expected), NtStatusMap.ToNtStatus(code));

    [Fact]
    public void EveryCoreCodeHasItsOwnRowAndIsAnError()
    {
        VfsErrorCode[] codes = Enum.GetValues<VfsErrorCode>();
        int[] statuses = codes.Select(NtStatusMap.ToNtStatus).ToArray();
        Assert.All(statuses, s => Assert.False(NtStatus.IsSuccess(s)));
        // Only IoError may map to the catch-all; a new code falling through to it would show up here.
        Assert.Single(codes, c => NtStatusMap.ToNtStatus(c) == NtStatus.UnexpectedIoError);
        Assert.Equal(statuses.Length, statuses.Distinct().Count());
    }

    [Fact]
    public void Exceptions_MapToStatuses()
    {
        Assert.Equal(NtStatus.ObjectNameNotFound, NtStatusMap.FromException(new VfsException(VfsErrorCode.NotFound, "x")));
        Assert.Equal(NtStatus.Cancelled, NtStatusMap.FromException(new OperationCanceledException()));
        Assert.Equal(NtStatus.IoTimeout, NtStatusMap.FromException(new TimeoutException()));
        Assert.Equal(NtStatus.ObjectPathNotFound, NtStatusMap.FromException(new NtStatusException(NtStatus.ObjectPathNotFound, "x")));
        Assert.Equal(NtStatus.DiskFull, NtStatusMap.FromException(new AggregateException(new VfsException(VfsErrorCode.QuotaExceeded, "x"))));
        Assert.Equal(NtStatus.UnexpectedIoError, NtStatusMap.FromException(new InvalidOperationException()));
    }
}
