using System.Buffers.Binary;
using System.Net;

namespace PvhVm.Core.Tests.Devices.Virtio.Net;

/// <summary>The few frames the tests send as a guest would (ARP request, ICMP echo request) and what they read back.</summary>
internal static class EthernetFrames
{
    public const ushort EtherTypeIpv4 = 0x0800;
    public const ushort EtherTypeArp = 0x0806;

    public static byte[] ArpRequest(byte[] senderMac, string senderIp, string targetIp)
    {
        var frame = new byte[42];
        WriteEthernet(frame, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], senderMac, EtherTypeArp);
        var arp = frame.AsSpan(14);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);              // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], EtherTypeIpv4);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1);         // request
        senderMac.CopyTo(arp[8..]);
        IPAddress.Parse(senderIp).GetAddressBytes().CopyTo(arp[14..]);
        IPAddress.Parse(targetIp).GetAddressBytes().CopyTo(arp[24..]);
        return frame;
    }

    /// <summary>An ARP reply's sender MAC when <paramref name="frame"/> is a reply from <paramref name="senderIp"/>, else null.</summary>
    public static byte[]? ArpReplySender(ReadOnlySpan<byte> frame, string senderIp) =>
        frame.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == EtherTypeArp
        && BinaryPrimitives.ReadUInt16BigEndian(frame[20..]) == 2
        && frame.Slice(28, 4).SequenceEqual(IPAddress.Parse(senderIp).GetAddressBytes())
            ? frame.Slice(22, 6).ToArray()
            : null;

    public static byte[] IcmpEchoRequest(byte[] sourceMac, byte[] destinationMac, string sourceIp, string destinationIp, ushort sequence, byte[] payload)
    {
        var frame = new byte[14 + 20 + 8 + payload.Length];
        WriteEthernet(frame, destinationMac, sourceMac, EtherTypeIpv4);
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;  // TTL
        ip[9] = 1;   // ICMP
        IPAddress.Parse(sourceIp).GetAddressBytes().CopyTo(ip[12..]);
        IPAddress.Parse(destinationIp).GetAddressBytes().CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip));
        var icmp = frame.AsSpan(34);
        icmp[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], 0x5076);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        payload.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return frame;
    }

    /// <summary>The payload when <paramref name="frame"/> is an ICMP echo reply with <paramref name="sequence"/>, else null.</summary>
    public static byte[]? IcmpEchoReplyPayload(ReadOnlySpan<byte> frame, ushort sequence) =>
        frame.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == EtherTypeIpv4 && frame[23] == 1
        && frame[34] == 0 && BinaryPrimitives.ReadUInt16BigEndian(frame[40..]) == sequence
            ? frame[42..].ToArray()
            : null;

    private static void WriteEthernet(Span<byte> frame, byte[] destination, byte[] source, ushort etherType)
    {
        destination.CopyTo(frame);
        source.CopyTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], etherType);
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (data.Length % 2 == 1)
        {
            sum += (uint)data[^1] << 8;
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
