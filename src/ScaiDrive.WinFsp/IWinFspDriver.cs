using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

/// <summary>
/// What the adapter asks of the WinFsp DLL outside of a callback's return value: completing a pending operation and
/// change notifications. The DLL implements it on Windows (<see cref="NativeDriver"/>); tests record the calls.
/// </summary>
internal interface IWinFspDriver
{
    /// <summary>FspFileSystemSendResponse: completes a Read, Write or ReadDirectory that returned STATUS_PENDING.</summary>
    void SendResponse(in FspTransactResponse response);

    /// <summary>FspFileSystemNotifyBegin; STATUS_CANT_WAIT while a rename is in progress.</summary>
    int NotifyBegin(TimeSpan timeout);

    /// <summary>FspFileSystemNotify with a buffer of FSP_FSCTL_NOTIFY_INFO entries (see <see cref="NotifyBuffer"/>).</summary>
    int Notify(ReadOnlySpan<byte> notifyInfoBuffer);

    int NotifyEnd();
}
