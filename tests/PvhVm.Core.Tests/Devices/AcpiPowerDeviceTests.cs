using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices;

namespace PvhVm.Core.Tests.Devices;

public sealed class AcpiPowerDeviceTests
{
    private int _powerOffs;
    private int _resets;
    private readonly PortIoBus _bus;

    public AcpiPowerDeviceTests()
    {
        _bus = new PortIoBus(NullLogger.Instance);
        _bus.Register(AcpiPowerDevice.SleepControlPort, AcpiPowerDevice.PortCount, new AcpiPowerDevice(() => _powerOffs++, () => _resets++));
    }

    [Fact]
    public void S5WithSleepEnableInTheControlRegisterPowersOff()
    {
        // What Linux's acpi_hw_extended_sleep writes: SLP_TYP 5 in bits 2-4, SLP_EN in bit 5.
        _bus.Write(0x600, [0x34]);
        Assert.Equal((1, 0), (_powerOffs, _resets));
    }

    [Theory]
    [InlineData(0x600, 0x14)] // SLP_TYP 5 without SLP_EN
    [InlineData(0x600, 0x20)] // SLP_EN for S0
    [InlineData(0x600, 0x2C)] // SLP_EN for SLP_TYP 3, a state the DSDT never declares
    [InlineData(0x601, 0x80)] // clearing WAK_STS, as Linux does before it sleeps
    [InlineData(0x601, 0x34)] // the power-off value in the wrong register
    [InlineData(0x602, 0x34)]
    [InlineData(0x602, 0x00)]
    [InlineData(0x602, 0x02)]
    [InlineData(0x600, 0x01)] // the reset value in the wrong register
    public void OtherWritesChangeNothing(ushort port, byte value)
    {
        _bus.Write(port, [value]);
        Assert.Equal((0, 0), (_powerOffs, _resets));
    }

    [Fact]
    public void ResetValueInTheResetRegisterResets()
    {
        _bus.Write(0x602, [AcpiPowerDevice.ResetValue]);
        Assert.Equal((0, 1), (_powerOffs, _resets));
    }

    [Fact]
    public void EveryRegisterReadsZeroSoWakeStatusIsNeverSet()
    {
        foreach (var port in new ushort[] { 0x600, 0x601, 0x602 })
        {
            var data = new byte[] { 0xAA };
            _bus.Read(port, data);
            Assert.Equal([0], data);
        }

        Assert.Equal(0, _bus.UnhandledAccesses);
    }
}
