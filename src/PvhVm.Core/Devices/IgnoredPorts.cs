namespace PvhVm.Core.Devices;

/// <summary>Ports a PC has but this VMM does not model, such as the POST/debug port 0x80: writes vanish, reads are all-ones, nothing is logged.</summary>
internal sealed class IgnoredPorts : IPortIoDevice
{
    public void Read(ushort port, Span<byte> data) => data.Fill(0xFF);

    public void Write(ushort port, ReadOnlySpan<byte> data) { }
}
