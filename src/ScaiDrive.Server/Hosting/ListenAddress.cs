using System.Globalization;
using System.Net;

namespace ScaiDrive.Server.Hosting;

internal static class ListenAddress
{
    /// <summary>Parses <c>host:port</c> (<c>[v6]:port</c> for IPv6); <c>localhost</c> means 127.0.0.1.</summary>
    public static IPEndPoint Parse(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new ScaiDriveServerException($"--listen '{text}' is not host:port (for example 127.0.0.1:8421)");
        }

        string host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            throw new ScaiDriveServerException($"--listen '{text}': the port must be a number from 0 to 65535");
        }

        IPAddress? address = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : null;
        if (address is null && !IPAddress.TryParse(host, out address))
        {
            throw new ScaiDriveServerException($"--listen '{text}': '{host}' is not an IP address or localhost");
        }

        return new IPEndPoint(address, port);
    }
}
