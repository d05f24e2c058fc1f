using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// Multiple APIC Description Table: one enabled local APIC per vCPU (APIC ID = vCPU index, which is what KVM gives
/// each vCPU) and the one I/O APIC of KVM's in-kernel irqchip. No interrupt source overrides: KVM's default GSI
/// routing wires ISA IRQ n to I/O APIC pin n, and the DSDT names COM1's interrupt by that number.
/// </summary>
internal static class MadtBuilder
{
    /// <summary>The header plus the local APIC address and flags.</summary>
    public const int FixedLength = 44;

    /// <summary>The machine also has dual 8259 PICs (part of KVM's in-kernel irqchip).</summary>
    public const uint PcAtCompatibleFlag = 1;

    /// <summary>KVM's in-kernel I/O APIC resets its ID register to 0; the MADT must name the same ID.</summary>
    public const byte IoApicId = 0;

    public static byte[] Build(int processorCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(processorCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(processorCount, Layout.MaxProcessors);
        var localApicSize = Marshal.SizeOf<MadtLocalApic>();
        var ioApicSize = Marshal.SizeOf<MadtIoApic>();
        var table = AcpiTableHeader.NewTable("APIC", revision: 5, FixedLength + processorCount * localApicSize + ioApicSize);
        var body = table.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(body[36..], (uint)Layout.LocalApicAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(body[40..], PcAtCompatibleFlag);

        var offset = FixedLength;
        for (var cpu = 0; cpu < processorCount; cpu++)
        {
            var entry = new MadtLocalApic
            {
                Type = MadtLocalApic.EntryType,
                Length = (byte)localApicSize,
                ProcessorUid = (byte)cpu,
                ApicId = (byte)cpu,
                Flags = MadtLocalApic.EnabledFlag,
            };
            MemoryMarshal.Write(body[offset..], in entry);
            offset += localApicSize;
        }

        var ioApic = new MadtIoApic
        {
            Type = MadtIoApic.EntryType,
            Length = (byte)ioApicSize,
            IoApicId = IoApicId,
            Address = (uint)Layout.IoApicAddress,
            GsiBase = 0,
        };
        MemoryMarshal.Write(body[offset..], in ioApic);
        return AcpiTableHeader.Seal(table);
    }
}
