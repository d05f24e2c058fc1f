namespace PvhVm.Core.Devices;

/// <summary>
/// A 16550A UART as Linux's 8250 driver expects it: THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, scratch,
/// divisor latch, loopback, FIFO identification, and interrupts for received data and an empty transmitter.
/// Transmission completes at once (the host takes every byte), so THR is always empty. The IRQ output is
/// level-style: high while an enabled interrupt is pending, as QEMU's 16550 drives it.
/// </summary>
internal sealed partial class Uart16550 : IPortIoDevice
{
    public const ushort PortCount = 8;

    /// <summary>Host input waiting for the guest; more than this is refused rather than buffered without bound.</summary>
    public const int ReceiveCapacity = 64 * 1024;

    /// <summary>Register offsets from the base port; the divisor latch shares 0 and 1 while LCR's DLAB bit is set.</summary>
    private static class Register
    {
        /// <summary>Read: receiver buffer (RBR). Write: transmitter holding register (THR).</summary>
        public const int Data = 0;
        public const int InterruptEnable = 1;

        /// <summary>Read: interrupt identification (IIR). Write: FIFO control (FCR).</summary>
        public const int InterruptIdFifoControl = 2;
        public const int LineControl = 3;
        public const int ModemControl = 4;
        public const int LineStatus = 5;
        public const int ModemStatus = 6;
        public const int Scratch = 7;
        public const int DivisorLow = 0;
        public const int DivisorHigh = 1;
    }

    // IER: which interrupts the guest wants.
    private const byte IerReceivedData = 0b0000_0001;
    private const byte IerTransmitterEmpty = 0b0000_0010;

    /// <summary>The four interrupt enables a 16550 has; the upper bits read back as zero.</summary>
    private const byte IerValidBits = 0b0000_1111;

    // IIR: the highest-priority pending interrupt, and whether the FIFOs are on.
    private const byte IirNoInterrupt = 0b0000_0001;
    private const byte IirTransmitterEmpty = 0b0000_0010;
    private const byte IirReceivedData = 0b0000_0100;
    private const byte IirFifoEnabled = 0b1100_0000;

    // FCR (16550A FCR0/FCR1).
    private const byte FcrEnableFifos = 0b0000_0001;
    private const byte FcrClearReceiveFifo = 0b0000_0010;

    // LCR: divisor latch access bit.
    private const byte LcrDivisorLatch = 0b1000_0000;

    // MCR: the five modem-control bits a 16550 has; the upper bits read back as zero.
    private const byte McrDataTerminalReady = 0b0000_0001;
    private const byte McrRequestToSend = 0b0000_0010;
    private const byte McrOut1 = 0b0000_0100;
    private const byte McrOut2 = 0b0000_1000;
    private const byte McrLoopback = 0b0001_0000;
    private const byte McrValidBits = 0b0001_1111;

    // LSR: data ready; THR empty and transmitter idle, always, since the host takes each byte at once.
    private const byte LsrDataReady = 0b0000_0001;
    private const byte LsrThrEmpty = 0b0010_0000;
    private const byte LsrTransmitterIdle = 0b0100_0000;

    // MSR: the modem inputs.
    private const byte MsrClearToSend = 0b0001_0000;
    private const byte MsrDataSetReady = 0b0010_0000;
    private const byte MsrRingIndicator = 0b0100_0000;
    private const byte MsrCarrierDetect = 0b1000_0000;

    /// <summary>9600 baud, the divisor a freshly reset PC UART holds.</summary>
    private const byte DefaultDivisorLow = 0x0C;

    private readonly object _gate = new();
    private readonly ushort _base;
    private readonly Action<byte> _transmit;
    private readonly Action<bool> _setIrq;
    private readonly Queue<byte> _received = new();
    private byte _ier, _lcr, _mcr, _scratch, _divisorLow = DefaultDivisorLow, _divisorHigh;
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
                data[i] = ReadRegisterLocked(port - _base + i);
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
                WriteRegisterLocked(port - _base + i, data[i]);
            }

            UpdateIrqLocked();
        }
    }

    private bool DivisorLatch => (_lcr & LcrDivisorLatch) != 0;

    private byte ReadRegisterLocked(int register)
    {
        switch (register)
        {
            case Register.Data:
                return DivisorLatch ? _divisorLow : _received.TryDequeue(out var b) ? b : (byte)0;
            case Register.InterruptEnable:
                return DivisorLatch ? _divisorHigh : _ier;
            case Register.InterruptIdFifoControl:
                var iir = PendingInterruptLocked();
                if (iir == IirTransmitterEmpty)
                {
                    // Reading IIR acknowledges a transmitter-empty interrupt, as on the real part.
                    _transmitterEmptyPending = false;
                }

                return (byte)(iir | (_fifoEnabled ? IirFifoEnabled : 0));
            case Register.LineControl:
                return _lcr;
            case Register.ModemControl:
                return _mcr;
            case Register.LineStatus:
                return (byte)(LsrThrEmpty | LsrTransmitterIdle | (_received.Count > 0 ? LsrDataReady : 0));
            case Register.ModemStatus:
                return ModemStatusLocked();
            case Register.Scratch:
                return _scratch;
            default:
                return 0xFF;
        }
    }

    private void WriteRegisterLocked(int register, byte value)
    {
        switch (register)
        {
            case Register.DivisorLow when DivisorLatch:
                _divisorLow = value;
                break;
            case Register.Data:
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
            case Register.DivisorHigh when DivisorLatch:
                _divisorHigh = value;
                break;
            case Register.InterruptEnable:
                var enablingTransmitterEmpty = (value & IerTransmitterEmpty) != 0 && (_ier & IerTransmitterEmpty) == 0;
                _ier = (byte)(value & IerValidBits);
                if (enablingTransmitterEmpty)
                {
                    // THR is always empty, so enabling its interrupt raises it at once.
                    _transmitterEmptyPending = true;
                }

                break;
            case Register.InterruptIdFifoControl:
                // Turning the FIFOs on or off empties them, as does the receive-FIFO reset bit (16550A FCR0/FCR1).
                var fifoEnabled = (value & FcrEnableFifos) != 0;
                if ((value & FcrClearReceiveFifo) != 0 || fifoEnabled != _fifoEnabled)
                {
                    _received.Clear();
                }

                _fifoEnabled = fifoEnabled;
                break;
            case Register.LineControl:
                _lcr = value;
                break;
            case Register.ModemControl:
                _mcr = (byte)(value & McrValidBits);
                break;
            case Register.Scratch:
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
            return MsrCarrierDetect | MsrDataSetReady | MsrClearToSend;
        }

        // Loopback wires each modem output back to an input: RTS to CTS, DTR to DSR, OUT1 to RI, OUT2 to DCD.
        return (byte)(((_mcr & McrRequestToSend) != 0 ? MsrClearToSend : 0)
            | ((_mcr & McrDataTerminalReady) != 0 ? MsrDataSetReady : 0)
            | ((_mcr & McrOut1) != 0 ? MsrRingIndicator : 0)
            | ((_mcr & McrOut2) != 0 ? MsrCarrierDetect : 0));
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
