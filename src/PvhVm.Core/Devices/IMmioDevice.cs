namespace PvhVm.Core.Devices;

/// <summary>A device on the <see cref="MmioBus"/>: accesses arrive with their offset from the device's base address.</summary>
internal interface IMmioDevice
{
    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}
