namespace PvhVm.Core.Devices;

/// <summary>
/// A 16550A UART as Linux's 8250 driver expects it: THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, scratch,
/// divisor latch, loopback, FIFO identification, and interrupts for received data and an empty transmitter.
/// Transmission completes at once (the host takes every byte), so THR is always empty. The IRQ output is
/// level-style: high while an enabled interrupt is pending, as QEMU's 16550 drives it.
/// </summary>
internal sealed class Uart16550 : IPortIoDevice
{
    public const ushort PortCount = 8;

    /// <summary>Host input waiting for the guest; more than this is refused rather than buffered without bound.</summary>
    public const int ReceiveCapacity = 64 * 1024;

    private const byte IerReceivedData = 0x01;
    private const byte IerTransmitterEmpty = 0x02;
    private const byte IirNoInterrupt = 0x01;
    private const byte IirTransmitterEmpty = 0x02;
    private const byte IirReceivedData = 0x04;
    private const byte IirFifoEnabled = 0xC0;
    private const byte LcrDivisorLatch = 0x80;
    private const byte McrLoopback = 0x10;
    private const byte LsrDataReady = 0x01;
    private const byte LsrTransmitterEmpty = 0x60;
    private const byte MsrCarrierDsrCts = 0xB0;

    private readonly object _gate = new();
    private readonly ushort _base;
    private readonly Action<byte> _transmit;
    private readonly Action<bool> _setIrq;
    private readonly Queue<byte> _received = new();
    private byte _ier, _lcr, _mcr, _scratch, _divisorLow = 0x0C, _divisorHigh;
    private bool _fifoEnabled;
    private bool _transmitterEmptyPending;
    private bool _irqLevel;

    /// <param name="transmit">Receives every byte the guest sends.</param>
    /// <param name="setIrq">Drives the interrupt line; called only when its level changes.</param>
    public Uart16550(Action<byte> transmit, Action<bool> setIrq, ushort basePort = Layout.Com1Port)
    {
        _transmit = transmit;
        _setIrq = setIrq;
        _base = basePort;
    }

    /// <summary>Queues bytes for the guest to read; returns how many fit.</summary>
    public int Receive(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            var accepted = Math.Min(bytes.Length, ReceiveCapacity - _received.Count);
            foreach (var b in bytes[..accepted])
            {
                _received.Enqueue(b);
            }

            UpdateIrqLocked();
            return accepted;
        }
    }

    public void Read(ushort port, Span<byte> data)
    {
        lock (_gate)
        {
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = ReadRegisterLocked((ushort)(port - _base + i));
            }

            UpdateIrqLocked();
        }
    }

    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            for (var i = 0; i < data.Length; i++)
            {
                WriteRegisterLocked((ushort)(port - _base + i), data[i]);
            }

            UpdateIrqLocked();
        }
    }

    private bool DivisorLatch => (_lcr & LcrDivisorLatch) != 0;

    private byte ReadRegisterLocked(ushort register)
    {
        switch (register)
        {
            case 0:
                return DivisorLatch ? _divisorLow : _received.TryDequeue(out var b) ? b : (byte)0;
            case 1:
                return DivisorLatch ? _divisorHigh : _ier;
            case 2:
                var iir = PendingInterruptLocked();
                if (iir == IirTransmitterEmpty)
                {
                    // Reading IIR acknowledges a transmitter-empty interrupt, as on the real part.
                    _transmitterEmptyPending = false;
                }

                return (byte)(iir | (_fifoEnabled ? IirFifoEnabled : 0));
            case 3:
                return _lcr;
            case 4:
                return _mcr;
            case 5:
                return (byte)(LsrTransmitterEmpty | (_received.Count > 0 ? LsrDataReady : 0));
            case 6:
                return ModemStatusLocked();
            case 7:
                return _scratch;
            default:
                return 0xFF;
        }
    }

    private void WriteRegisterLocked(ushort register, byte value)
    {
        switch (register)
        {
            case 0 when DivisorLatch:
                _divisorLow = value;
                break;
            case 0:
                if ((_mcr & McrLoopback) != 0)
                {
                    if (_received.Count < ReceiveCapacity)
                    {
                        _received.Enqueue(value);
                    }
                }
                else
                {
                    _transmit(value);
                }

                _transmitterEmptyPending = true;
                break;
            case 1 when DivisorLatch:
                _divisorHigh = value;
                break;
            case 1:
                var enablingTransmitterEmpty = (value & IerTransmitterEmpty) != 0 && (_ier & IerTransmitterEmpty) == 0;
                _ier = (byte)(value & 0x0F);
                if (enablingTransmitterEmpty)
                {
                    // THR is always empty, so enabling its interrupt raises it at once.
                    _transmitterEmptyPending = true;
                }

                break;
            case 2:
                // Turning the FIFOs on or off empties them, as does the receive-FIFO reset bit (16550A FCR0/FCR1).
                var fifoEnabled = (value & 0x01) != 0;
                if ((value & 0x02) != 0 || fifoEnabled != _fifoEnabled)
                {
                    _received.Clear();
                }

                _fifoEnabled = fifoEnabled;
                break;
            case 3:
                _lcr = value;
                break;
            case 4:
                _mcr = (byte)(value & 0x1F);
                break;
            case 7:
                _scratch = value;
                break;
        }
    }

    private byte PendingInterruptLocked()
    {
        if ((_ier & IerReceivedData) != 0 && _received.Count > 0)
        {
            return IirReceivedData;
        }

        if ((_ier & IerTransmitterEmpty) != 0 && _transmitterEmptyPending)
        {
            return IirTransmitterEmpty;
        }

        return IirNoInterrupt;
    }

    private byte ModemStatusLocked()
    {
        if ((_mcr & McrLoopback) == 0)
        {
            return MsrCarrierDsrCts;
        }

        // Loopback: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2.
        return (byte)(((_mcr & 0x02) << 3) | ((_mcr & 0x01) << 5) | ((_mcr & 0x04) << 4) | ((_mcr & 0x08) << 4));
    }

    private void UpdateIrqLocked()
    {
        var level = PendingInterruptLocked() != IirNoInterrupt;
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _setIrq(level);
        }
    }
}
