using Microsoft.Extensions.Internal;

namespace ScaiDrive.Vfs.Namespace;

/// <summary>Lets MemoryCache expire entries on the injected clock, so TTL tests advance time instead of sleeping.</summary>
internal sealed class TimeProviderClock(TimeProvider timeProvider) : ISystemClock
{
    public DateTimeOffset UtcNow => timeProvider.GetUtcNow();
}
