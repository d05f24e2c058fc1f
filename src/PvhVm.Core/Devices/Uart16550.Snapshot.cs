namespace PvhVm.Core.Devices;

/// <summary>A UART's registers and its receive FIFO, as a checkpoint saves them.</summary>
internal sealed record UartSnapshot(
    byte InterruptEnable, byte LineControl, byte ModemControl, byte Scratch, byte DivisorLow, byte DivisorHigh,
    bool FifoEnabled, bool TransmitterEmptyPending, bool IrqLevel, byte[] Received);

internal sealed partial class Uart16550
{
    public UartSnapshot Save()
    {
        lock (_gate)
        {
            return new UartSnapshot(_ier, _lcr, _mcr, _scratch, _divisorLow, _divisorHigh, _fifoEnabled, _transmitterEmptyPending, _irqLevel, [.. _received]);
        }
    }

    /// <summary>Takes the saved registers; the IRQ line is driven to the saved level (the restored irqchip expects it there).</summary>
    public void Restore(UartSnapshot snapshot)
    {
        if (snapshot.Received.Length > ReceiveCapacity)
        {
            throw new ArgumentException($"A UART holds at most {ReceiveCapacity} received bytes, not {snapshot.Received.Length}.", nameof(snapshot));
        }

        lock (_gate)
        {
            _ier = (byte)(snapshot.InterruptEnable & IerValidBits);
            _lcr = snapshot.LineControl;
            _mcr = (byte)(snapshot.ModemControl & McrValidBits);
            _scratch = snapshot.Scratch;
            _divisorLow = snapshot.DivisorLow;
            _divisorHigh = snapshot.DivisorHigh;
            _fifoEnabled = snapshot.FifoEnabled;
            _transmitterEmptyPending = snapshot.TransmitterEmptyPending;
            _received.Clear();
            foreach (var b in snapshot.Received)
            {
                _received.Enqueue(b);
            }

            _irqLevel = snapshot.IrqLevel;
            _setIrq(_irqLevel);
        }
    }
}
