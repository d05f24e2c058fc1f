using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PvhVm.Core.Devices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// Fixed ACPI Description Table, revision 6 (276 bytes), for a hardware-reduced platform as Firecracker and
/// cloud-hypervisor present: no PM timer, no fixed-hardware event blocks, no SCI; the pointer to the DSDT, and the
/// sleep control/status and reset registers of <see cref="AcpiPowerDevice"/> through which the guest powers off
/// (S5) and resets.
/// </summary>
internal static class FadtBuilder
{
    public const int Length = 276;
    public const byte Revision = 6;
    public const byte MinorRevision = 5;

    public const int IapcBootArchOffset = 109;
    public const int FlagsOffset = 112;
    public const int ResetRegisterOffset = 116;
    public const int ResetValueOffset = 128;
    public const int MinorRevisionOffset = 131;
    public const int XDsdtOffset = 140;
    public const int SleepControlRegisterOffset = 244;
    public const int SleepStatusRegisterOffset = 256;
    public const int HypervisorVendorOffset = 268;

    /// <summary>Power and sleep buttons, if any, are control-method devices (there are none).</summary>
    public const uint PowerButtonFlag = 1u << 4;
    public const uint SleepButtonFlag = 1u << 5;

    /// <summary>RESET_REG and RESET_VALUE are valid: the guest resets by writing one to the other.</summary>
    public const uint ResetRegisterSupportedFlag = 1u << 10;

    /// <summary>No ACPI fixed hardware: the SCI, PM1 and GPE blocks are absent.</summary>
    public const uint HardwareReducedFlag = 1u << 20;

    /// <summary>The machine has an i8042 (its reset line ends the VM), so Linux may probe it.</summary>
    public const ushort Has8042 = 1 << 1;
    public const ushort VgaNotPresent = 1 << 2;
    public const ushort MsiNotSupported = 1 << 3;

    /// <summary>No CMOS RTC is emulated: keeps Linux from touching ports 0x70/0x71.</summary>
    public const ushort CmosRtcNotPresent = 1 << 5;

    public static byte[] Build(ulong dsdtAddress)
    {
        var table = AcpiTableHeader.NewTable("FACP", Revision, Length);
        var body = table.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(body[IapcBootArchOffset..], Has8042 | VgaNotPresent | MsiNotSupported | CmosRtcNotPresent);
        BinaryPrimitives.WriteUInt32LittleEndian(body[FlagsOffset..],
            HardwareReducedFlag | PowerButtonFlag | SleepButtonFlag | ResetRegisterSupportedFlag);
        WriteRegister(body, ResetRegisterOffset, AcpiPowerDevice.ResetPort);
        body[ResetValueOffset] = AcpiPowerDevice.ResetValue;
        body[MinorRevisionOffset] = MinorRevision;
        WriteRegister(body, SleepControlRegisterOffset, AcpiPowerDevice.SleepControlPort);
        WriteRegister(body, SleepStatusRegisterOffset, AcpiPowerDevice.SleepStatusPort);

        // The 32-bit DSDT field stays zero: the specification requires it when X_DSDT is used.
        BinaryPrimitives.WriteUInt64LittleEndian(body[XDsdtOffset..], dsdtAddress);
        AcpiText.Copy("PVHVMKVM", body.Slice(HypervisorVendorOffset, 8));
        return AcpiTableHeader.Seal(table);
    }

    private static void WriteRegister(Span<byte> body, int offset, ushort port)
    {
        var register = GenericAddress.IoPortByte(port);
        MemoryMarshal.Write(body.Slice(offset, GenericAddress.Size), in register);
    }
}
