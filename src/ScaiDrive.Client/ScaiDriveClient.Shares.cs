using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client;

public sealed partial class ScaiDriveClient
{
    private const int SharePageSize = 100;

    public async Task<UserProfile> GetMeAsync(CancellationToken cancellationToken = default) =>
        (await GetJsonAsync("api/v1/users/me", WireJsonContext.Default.UserDto, cancellationToken).ConfigureAwait(false)).ToModel();

    /// <summary>Every share the caller can reach, with its role and quota (all pages).</summary>
    public async Task<IReadOnlyList<ShareInfo>> ListMySharesAsync(CancellationToken cancellationToken = default)
    {
        var shares = new List<ShareInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int offset = 0;
        while (true)
        {
            var page = await GetJsonAsync(
                $"api/v1/users/me/shares?limit={SharePageSize}&offset={offset}", WireJsonContext.Default.ShareListDto, cancellationToken).ConfigureAwait(false);
            var items = page.Shares ?? [];
            foreach (var dto in items)
            {
                if (dto.Id is not null && seen.Add(dto.Id))
                {
                    shares.Add(dto.ToModel());
                }
            }

            offset += items.Count;
            if (items.Count == 0 || page.Total is not { } total || offset >= total)
            {
                return shares;
            }
        }
    }

    public async Task<ShareInfo> GetShareAsync(ShareId shareId, CancellationToken cancellationToken = default)
    {
        var dto = await GetJsonAsync($"api/v1/shares/{Esc(shareId.Value)}", WireJsonContext.Default.ShareDto, cancellationToken).ConfigureAwait(false);
        var share = dto.ToModel();
        if (dto.Role is null)
        {
            // The share object (§5.2) carries no role; the caller's role lives in /users/me/shares.
            var mine = await ListMySharesAsync(cancellationToken).ConfigureAwait(false);
            if (mine.FirstOrDefault(s => s.Id == shareId) is { } listed)
            {
                share = share with { Role = listed.Role, Type = share.Type ?? listed.Type };
            }
        }

        return share;
    }

    public async Task<QuotaInfo> GetMyQuotaAsync(CancellationToken cancellationToken = default)
    {
        var dto = await GetJsonAsync("api/v1/users/me/quota", WireJsonContext.Default.QuotaDto, cancellationToken).ConfigureAwait(false);
        return new QuotaInfo(dto.UsedBytes ?? 0, dto.QuotaBytes);
    }
}
