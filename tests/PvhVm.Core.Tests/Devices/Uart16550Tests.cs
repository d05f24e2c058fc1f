using PvhVm.Core.Devices;

namespace PvhVm.Core.Tests.Devices;

public sealed class Uart16550Tests
{
    private const ushort Base = Layout.Com1Port;
    private readonly List<byte> _sent = [];
    private readonly List<bool> _irq = [];
    private readonly Uart16550 _uart;

    public Uart16550Tests()
    {
        _uart = new Uart16550(_sent.Add, _irq.Add);
    }

    [Fact]
    public void TransmitsBytesAndAlwaysReportsTransmitterEmpty()
    {
        Out(0, (byte)'h');
        Out(0, (byte)'i');
        Assert.Equal("hi"u8.ToArray(), _sent);
        Assert.Equal(0x60, In(5));
    }

    [Fact]
    public void TurningTheFifosOnOrOffEmptiesTheReceiveQueue()
    {
        _uart.Receive("ab"u8);
        Out(2, 0x01);
        Assert.Equal(0, In(5) & 0x01);
        _uart.Receive("c"u8);
        Out(2, 0x01);
        Assert.Equal(0x01, In(5) & 0x01);
        Out(2, 0x00);
        Assert.Equal(0, In(5) & 0x01);
    }

    [Fact]
    public void LinuxStartupFindsNoThreOrTxenBugAndLeavesTheLineLow()
    {
        // serial8250_do_startup: clear FIFOs, read LSR/RBR/IIR/MSR, the LSR safety check, then the THRE and TXEN tests.
        Out(2, 0x01);
        Out(2, 0x07);
        Out(2, 0x00);
        _ = In(5);
        _ = In(0);
        _ = In(2);
        _ = In(6);
        Assert.NotEqual(0xFF, In(5));
        Out(1, 0x02);
        var firstIir = In(2);
        Out(1, 0x00);
        Out(1, 0x02);
        var secondIir = In(2);
        Out(1, 0x00);
        Assert.False((firstIir & 1) == 0 && (secondIir & 1) != 0, "Linux would set UART_BUG_THRE");
        Out(1, 0x02);
        var lsr = In(5);
        var iir = In(2);
        Out(1, 0x00);
        Assert.False((lsr & 0x40) != 0 && (iir & 1) != 0, "Linux would set UART_BUG_TXEN");
        Assert.False(_irq[^1]);
    }

    [Fact]
    public void ScratchAndDivisorLatchAreSeparateRegisters()
    {
        Out(7, 0x5A);
        Assert.Equal(0x5A, In(7));
        Out(3, 0x80);
        Out(0, 0x01);
        Out(1, 0x00);
        Assert.Equal(0x01, In(0));
        Out(3, 0x03);
        Assert.Equal(0x03, In(3));
        Assert.Equal(0x00, In(1));
        Assert.Empty(_sent);
    }

    [Fact]
    public void LoopbackReflectsModemControlAndEchoesData()
    {
        Out(4, 0x10 | 0x0A); // loop, RTS, OUT2
        Assert.Equal(0x90, In(6) & 0xF0); // CTS and DCD
        Out(0, 0x42);
        Assert.Empty(_sent);
        Assert.Equal(0x01, In(5) & 0x01);
        Assert.Equal(0x42, In(0));
        Assert.Equal(0x00, In(5) & 0x01);
    }

    [Fact]
    public void FifoEnableIsVisibleInIir()
    {
        Assert.Equal(0x01, In(2));
        Out(2, 0x07);
        Assert.Equal(0xC1, In(2));
    }

    [Fact]
    public void TransmitterEmptyInterruptIsRaisedOnEnableAndAcknowledgedByIirRead()
    {
        Out(1, 0x02);
        Assert.Equal([true], _irq);
        Assert.Equal(0x02, In(2));
        Assert.Equal([true, false], _irq);
        Assert.Equal(0x01, In(2));
        Out(0, (byte)'x');
        Assert.Equal([true, false, true], _irq);
    }

    [Fact]
    public void ReceivedDataRaisesInterruptUntilDrained()
    {
        Out(1, 0x01);
        Assert.Equal(3, _uart.Receive("abc"u8));
        Assert.Equal([true], _irq);
        Assert.Equal(0x04, In(2));
        Assert.Equal((byte)'a', In(0));
        Assert.Equal((byte)'b', In(0));
        Assert.Equal((byte)'c', In(0));
        Assert.Equal([true, false], _irq);
        Assert.Equal(0x60, In(5));
    }

    [Fact]
    public void HostInputIsBounded()
    {
        var big = new byte[Uart16550.ReceiveCapacity + 10];
        Assert.Equal(Uart16550.ReceiveCapacity, _uart.Receive(big));
        Assert.Equal(0, _uart.Receive(big));
    }

    private void Out(ushort register, byte value) => _uart.Write((ushort)(Base + register), [value]);

    private byte In(ushort register)
    {
        Span<byte> value = stackalloc byte[1];
        _uart.Read((ushort)(Base + register), value);
        return value[0];
    }
}
