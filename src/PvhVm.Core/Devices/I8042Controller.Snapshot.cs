namespace PvhVm.Core.Devices;

/// <summary>The i8042's control byte, output port, the byte waiting to be read and the command waiting for its parameter.</summary>
internal sealed record I8042Snapshot(byte Control, byte OutputPort, byte? Output, byte? PendingCommand);

internal sealed partial class I8042Controller
{
    public I8042Snapshot Save()
    {
        lock (_gate)
        {
            return new I8042Snapshot((byte)_control, _outputPort, _output, _pendingCommand);
        }
    }

    public void Restore(I8042Snapshot snapshot)
    {
        lock (_gate)
        {
            _control = (Control)snapshot.Control;
            _outputPort = snapshot.OutputPort;
            _output = snapshot.Output;
            // Only the two commands that take a parameter can be waiting for one.
            _pendingCommand = snapshot.PendingCommand is Command.WriteControl or Command.WriteOutputPort ? snapshot.PendingCommand : null;
        }
    }
}
