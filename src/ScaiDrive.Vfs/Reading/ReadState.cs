namespace ScaiDrive.Vfs.Reading;

/// <summary>Per-open-handle read state: the sequential-access detector and its read-ahead window.</summary>
internal sealed partial class ReadState
{
    internal ReadState(ReadAheadSettings settings)
    {
        Settings = settings;
        Policy = new ReadAheadPolicy(settings);
    }

    // Every field below is guarded by the owning ContentReader's lock.

    internal ReadAheadSettings Settings { get; }

    /// <summary>A mutable struct: always reached through this field, never copied.</summary>
    internal ReadAheadPolicy Policy;

    /// <summary>The content the policy describes; another key (a new version) starts over.</summary>
    internal ContentKey? Key { get; set; }

    /// <summary>Read-ahead has been issued (or found present) up to here; block-aligned.</summary>
    internal long PrefetchEnd { get; set; }

    /// <summary>Start of the latest read, so read-ahead never runs behind the reader.</summary>
    internal long LastReadOffset { get; set; }

    /// <summary>Read-ahead requests of this handle in flight.</summary>
    internal int InFlight { get; set; }

    /// <summary>Cancels the read-ahead of the current sequential run; replaced on a seek, cancelled by Release.</summary>
    internal CancellationTokenSource? Cancellation { get; set; }

    internal bool Released { get; set; }

    /// <summary>The current run's stream once read-ahead reached the streamed-read threshold (see ContentReader).</summary>
    internal StreamedRun? Streamed { get; set; }
}
