using PvhVm.Core.Memory;

namespace PvhVm.Core.Boot;

/// <summary>
/// The GDT the boot vCPU starts with: null, flat 32-bit code, flat 32-bit data and a 32-bit busy TSS. The segment
/// registers in <see cref="PvhEntryState"/> are loaded from these same descriptors, so the hidden state and the
/// table in guest memory agree (Linux's PVH entry reloads its own GDT soon after, but must not see a mismatch first).
/// </summary>
internal static class BootGdt
{
    public const ushort CodeSelector = 0x08;
    public const ushort DataSelector = 0x10;
    public const ushort TssSelector = 0x18;

    /// <summary>Null, code, data, TSS: four 8-byte descriptors.</summary>
    public const int Size = 4 * 8;

    /// <summary>Execute/read, accessed (type 0xB), 32-bit, 4 KiB granular, base 0, limit 4 GiB.</summary>
    public static readonly SegmentState Code = new(CodeSelector, 0, 0xFFFF_FFFF, 0xB, Present: true, Dpl: 0,
        DefaultBig: true, CodeOrData: true, Long: false, Granularity: true);

    /// <summary>Read/write, accessed (type 0x3), 32-bit, 4 KiB granular, base 0, limit 4 GiB.</summary>
    public static readonly SegmentState Data = new(DataSelector, 0, 0xFFFF_FFFF, 0x3, Present: true, Dpl: 0,
        DefaultBig: true, CodeOrData: true, Long: false, Granularity: true);

    /// <summary>32-bit busy TSS (system type 0xB), base 0, limit 0x67 (the minimal TSS).</summary>
    public static readonly SegmentState Tss = new(TssSelector, 0, 0x67, 0xB, Present: true, Dpl: 0,
        DefaultBig: false, CodeOrData: false, Long: false, Granularity: false);

    public static void Write(GuestMemory memory, ulong address)
    {
        var table = memory.GetSpan(address, Size);
        table[..8].Clear();
        WriteDescriptor(table[CodeSelector..], Code);
        WriteDescriptor(table[DataSelector..], Data);
        WriteDescriptor(table[TssSelector..], Tss);
    }

    /// <summary>Encodes a segment as an 8-byte legacy descriptor (limit in pages when granular).</summary>
    public static ulong Encode(SegmentState segment)
    {
        ulong limit = segment.Granularity ? segment.Limit >> 12 : segment.Limit;
        if (limit > 0xF_FFFF || segment.Base > uint.MaxValue)
        {
            throw new ArgumentException($"Segment base 0x{segment.Base:x} / limit 0x{segment.Limit:x} cannot be encoded in a descriptor.", nameof(segment));
        }

        return (limit & 0xFFFF)
            | (segment.Base & 0xFF_FFFF) << 16
            | (ulong)(segment.Type & 0xF) << 40
            | (segment.CodeOrData ? 1UL : 0) << 44
            | (ulong)(segment.Dpl & 0x3) << 45
            | (segment.Present ? 1UL : 0) << 47
            | (limit >> 16 & 0xF) << 48
            | (segment.Long ? 1UL : 0) << 53
            | (segment.DefaultBig ? 1UL : 0) << 54
            | (segment.Granularity ? 1UL : 0) << 55
            | (segment.Base >> 24 & 0xFF) << 56;
    }

    private static void WriteDescriptor(Span<byte> destination, SegmentState segment)
        => System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination, Encode(segment));
}
