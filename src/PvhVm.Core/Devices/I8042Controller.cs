namespace PvhVm.Core.Devices;

/// <summary>
/// Just enough of the i8042 keyboard controller for a guest to reboot: command 0xFE (pulse reset line)
/// on port 0x64 ends the VM as a guest reset. Register it on <see cref="DataPort"/> and <see cref="CommandPort"/>
/// only: 0x61 between them belongs to the PIT's speaker gate.
/// </summary>
internal sealed class I8042Controller : IPortIoDevice
{
    private const ushort DataPort = Layout.I8042DataPort;
    private const ushort CommandPort = Layout.I8042CommandPort;
    private const byte ResetCommand = 0xFE;

    private readonly Action _onReset;

    public I8042Controller(Action onReset)
    {
        _onReset = onReset;
    }

    // Status 0: output buffer empty, input buffer empty, so a guest polling before a command never spins.
    public void Read(ushort port, Span<byte> data) => data.Clear();

    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        if (port == CommandPort && data.Length > 0 && data[0] == ResetCommand)
        {
            _onReset();
        }
    }
}
