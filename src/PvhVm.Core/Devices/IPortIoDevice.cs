namespace PvhVm.Core.Devices;

/// <summary>A device on the x86 I/O port bus. It is given the absolute port of each access.</summary>
internal interface IPortIoDevice
{
    void Read(ushort port, Span<byte> data);

    void Write(ushort port, ReadOnlySpan<byte> data);
}
