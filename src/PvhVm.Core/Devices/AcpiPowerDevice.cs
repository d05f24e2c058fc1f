namespace PvhVm.Core.Devices;

/// <summary>
/// The registers a hardware-reduced ACPI platform powers off and resets through (ACPI 6.5, sections 4.8.3.7 and
/// 4.8.3.6), as the FADT names them: SLEEP_CONTROL_REG, SLEEP_STATUS_REG and RESET_REG, one byte each in system I/O
/// space. Linux writes SLP_TYP and SLP_EN to the control register to enter a sleep state (S5 is power-off; the DSDT's
/// <c>\_S5_</c> package gives its SLP_TYP) and RESET_VALUE to the reset register to reboot.
/// </summary>
internal sealed class AcpiPowerDevice : IPortIoDevice
{
    public const ushort SleepControlPort = Layout.AcpiSleepControlPort;
    public const ushort SleepStatusPort = Layout.AcpiSleepStatusPort;
    public const ushort ResetPort = Layout.AcpiResetPort;
    public const int PortCount = 3;

    /// <summary>The SLP_TYP the DSDT's <c>\_S5_</c> package declares, and the guest writes back to power off.</summary>
    public const byte S5SleepType = 5;

    /// <summary>What the guest writes to <see cref="ResetPort"/> to reset (the FADT's RESET_VALUE).</summary>
    public const byte ResetValue = 1;

    // Sleep control register: SLP_TYP in bits 2-4, SLP_EN in bit 5 (ACPI 6.5, table 4.19).
    private const int SleepTypeShift = 2;
    private const byte SleepTypeMask = 0x7 << SleepTypeShift;
    private const byte SleepEnable = 1 << 5;

    private readonly Action _onPowerOff;
    private readonly Action _onReset;

    public AcpiPowerDevice(Action onPowerOff, Action onReset)
    {
        _onPowerOff = onPowerOff;
        _onReset = onReset;
    }

    // Sleep status reads 0: WAK_STS is never set, because no sleep state but S5 (which does not return) exists.
    // The control and reset registers are write-only and read 0 as well.
    public void Read(ushort port, Span<byte> data) => data.Clear();

    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        var value = data[0];
        switch (port)
        {
            case SleepControlPort when (value & SleepEnable) != 0 && (value & SleepTypeMask) >> SleepTypeShift == S5SleepType:
                _onPowerOff();
                break;
            case ResetPort when value == ResetValue:
                _onReset();
                break;
        }

        // Anything else (clearing WAK_STS in the status register, SLP_EN for a state we never declared) changes nothing.
    }
}
