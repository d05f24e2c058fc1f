namespace PvhVm.Core.Devices;

/// <summary>
/// A minimal i8042 keyboard controller, after Firecracker's: enough for Linux's i8042 driver to find a sane
/// controller (command byte, self-test, interface tests, status bits) and for a guest to reboot through command
/// 0xFE (pulse reset line), which ends the VM as a guest reset. No keyboard or mouse is attached: bytes sent to the
/// keyboard are acknowledged and dropped. Register it on <see cref="DataPort"/> and <see cref="CommandPort"/> only:
/// 0x61 between them belongs to the PIT's speaker gate.
/// </summary>
internal sealed partial class I8042Controller : IPortIoDevice
{
    private const ushort DataPort = Layout.I8042DataPort;
    private const ushort CommandPort = Layout.I8042CommandPort;

    /// <summary>Controller commands, written to <see cref="CommandPort"/>.</summary>
    private static class Command
    {
        public const byte ReadControl = 0x20;
        public const byte WriteControl = 0x60;
        public const byte AuxInterfaceTest = 0xA9;
        public const byte SelfTest = 0xAA;
        public const byte KeyboardInterfaceTest = 0xAB;
        public const byte ReadOutputPort = 0xD0;
        public const byte WriteOutputPort = 0xD1;
        public const byte PulseResetLine = 0xFE;
    }

    /// <summary>Bits of the status register, read from <see cref="CommandPort"/>.</summary>
    [Flags]
    private enum Status : byte
    {
        /// <summary>A byte waits in the output buffer (port 0x60).</summary>
        OutputFull = 0x01,

        /// <summary>Mirrors the control byte's <see cref="Control.SystemFlag"/>: the controller passed its self-test.</summary>
        SystemFlag = 0x04,

        /// <summary>The last write went to the command port: the next data byte is that command's parameter.</summary>
        CommandParameter = 0x08,

        /// <summary>The keyboard is not inhibited (key lock off).</summary>
        KeyboardUnlocked = 0x10,
    }

    /// <summary>Bits of the controller's command byte (Linux's CTR).</summary>
    [Flags]
    private enum Control : byte
    {
        KeyboardInterrupt = 0x01,
        SystemFlag = 0x04,
    }

    private const byte SelfTestPassed = 0x55;
    private const byte InterfaceTestPassed = 0x00;

    /// <summary>"Clock line stuck low": how a controller with nothing on its auxiliary port answers the AUX test.</summary>
    private const byte AuxInterfaceAbsent = 0x01;

    private const byte KeyboardAcknowledge = 0xFA;

    private readonly object _gate = new();
    private readonly Action _onReset;
    private Control _control = Control.SystemFlag | Control.KeyboardInterrupt;
    private byte _outputPort;
    private byte? _output;
    private byte? _pendingCommand;

    public I8042Controller(Action onReset)
    {
        _onReset = onReset;
    }

    public void Read(ushort port, Span<byte> data)
    {
        if (data.Length != 1)
        {
            // Every register is a byte: wider accesses see nothing rather than a half-read state.
            data.Clear();
            return;
        }

        lock (_gate)
        {
            if (port == CommandPort)
            {
                data[0] = (byte)StatusLocked();
            }
            else
            {
                // An empty output buffer reads 0, as on Firecracker's.
                data[0] = _output ?? 0;
                _output = null;
            }
        }
    }

    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        if (port == CommandPort && data.Length > 0 && data[0] == Command.PulseResetLine)
        {
            _onReset();
            return;
        }

        if (data.Length != 1)
        {
            return;
        }

        lock (_gate)
        {
            if (port == CommandPort)
            {
                RunCommandLocked(data[0]);
            }
            else
            {
                WriteDataLocked(data[0]);
            }
        }
    }

    private Status StatusLocked()
    {
        var status = Status.KeyboardUnlocked;
        if (_output is not null)
        {
            status |= Status.OutputFull;
        }

        if (_pendingCommand is not null)
        {
            status |= Status.CommandParameter;
        }

        if ((_control & Control.SystemFlag) != 0)
        {
            status |= Status.SystemFlag;
        }

        return status;
    }

    private void RunCommandLocked(byte command)
    {
        // A new command replaces whatever answer or parameter the last one left, so its answer is the next byte read.
        _output = null;
        _pendingCommand = null;
        switch (command)
        {
            case Command.ReadControl:
                _output = (byte)_control;
                break;
            case Command.WriteControl or Command.WriteOutputPort:
                _pendingCommand = command;
                break;
            case Command.ReadOutputPort:
                _output = _outputPort;
                break;
            case Command.SelfTest:
                _output = SelfTestPassed;
                break;
            case Command.KeyboardInterfaceTest:
                _output = InterfaceTestPassed;
                break;
            case Command.AuxInterfaceTest:
                _output = AuxInterfaceAbsent;
                break;
        }
    }

    private void WriteDataLocked(byte value)
    {
        switch (_pendingCommand)
        {
            case Command.WriteControl:
                _control = (Control)value;
                break;
            case Command.WriteOutputPort:
                _outputPort = value;
                break;
            default:
                // A byte for the keyboard: acknowledged, as a keyboard that accepts everything would.
                _output = KeyboardAcknowledge;
                break;
        }

        _pendingCommand = null;
    }
}
