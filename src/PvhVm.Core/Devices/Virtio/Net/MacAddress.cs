using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace PvhVm.Core.Devices.Virtio.Net;

/// <summary>An Ethernet address, written and parsed as six colon-separated hex pairs.</summary>
internal readonly record struct MacAddress(ulong Value)
{
    public const int Length = 6;

    /// <summary>
    /// The same unicast, locally administered address for the same <paramref name="seed"/> (a VM's id and adapter index)
    /// every time, so a guest keeps its DHCP lease and its interface name across restarts.
    /// </summary>
    public static MacAddress Derive(string seed)
    {
        var hash = XxHash128.Hash(Encoding.UTF8.GetBytes(seed));
        hash[0] = (byte)((hash[0] & 0xFE) | 0x02);
        return FromBytes(hash.AsSpan(0, Length));
    }

    public static MacAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        ulong value = 0;
        foreach (var b in bytes[..Length])
        {
            value = (value << 8) | b;
        }

        return new MacAddress(value);
    }

    /// <summary>Parses "02:00:00:00:00:01" (or with '-'); false for anything else, for a multicast or the zero address.</summary>
    public static bool TryParse(string text, out MacAddress address)
    {
        address = default;
        var parts = text.Split(':', '-');
        if (parts.Length != Length)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Length];
        for (var i = 0; i < Length; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }

        address = FromBytes(bytes);
        return (bytes[0] & 1) == 0 && address.Value != 0;
    }

    public void WriteTo(Span<byte> destination)
    {
        for (var i = 0; i < Length; i++)
        {
            destination[i] = (byte)(Value >> (8 * (Length - 1 - i)));
        }
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        WriteTo(bytes);
        return string.Join(':', bytes.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }
}
