using PvhVm.Core.Boot;
using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Machine;

/// <summary>
/// Translates a guest linear address through the guest's own page tables (none, 32-bit PAE or 4-level),
/// to read the instruction bytes at a faulting RIP when KVM did not report them. Every table read is
/// bounds-checked against guest RAM; a bad walk yields null, never an exception.
/// </summary>
internal static class GuestPageWalker
{
    private const ulong Cr0Paging = 1ul << 31;
    private const ulong Cr4Pae = 1ul << 5;
    private const ulong EferLongModeActive = 1ul << 10;
    private const ulong Present = 1;
    private const ulong LargePage = 1ul << 7;
    private const ulong AddressMask = 0x000F_FFFF_FFFF_F000;

    public static ulong? Translate(GuestMemory memory, in KvmSregs sregs, ulong linear)
    {
        if ((sregs.Cr0 & Cr0Paging) == 0)
        {
            return linear;
        }

        if ((sregs.Efer & EferLongModeActive) != 0)
        {
            return Walk(memory, sregs.Cr3 & AddressMask, linear, levels: 4);
        }

        return (sregs.Cr4 & Cr4Pae) != 0 ? WalkPae(memory, sregs.Cr3 & 0xFFFF_FFE0, linear) : null;
    }

    /// <summary>Reads up to <paramref name="length"/> bytes at a linear address, stopping at the first unmapped byte.</summary>
    public static byte[] ReadLinear(GuestMemory memory, in KvmSregs sregs, ulong linear, int length)
    {
        var bytes = new List<byte>(length);
        for (var i = 0; i < length; i++)
        {
            if (Translate(memory, sregs, linear + (ulong)i) is not { } physical || !memory.Contains(physical, 1))
            {
                break;
            }

            bytes.Add(memory.ReadByte(physical));
        }

        return bytes.ToArray();
    }

    private static ulong? Walk(GuestMemory memory, ulong table, ulong linear, int levels)
    {
        for (var level = levels; level >= 1; level--)
        {
            var shift = 12 + (9 * (level - 1));
            var entry = ReadEntry(memory, table + (((linear >> shift) & 0x1FF) * 8));
            if (entry is not { } value || (value & Present) == 0)
            {
                return null;
            }

            if (level == 1 || (level <= 3 && (value & LargePage) != 0))
            {
                var pageMask = (1ul << shift) - 1;
                return (value & AddressMask & ~pageMask) | (linear & pageMask);
            }

            table = value & AddressMask;
        }

        return null;
    }

    private static ulong? WalkPae(GuestMemory memory, ulong pdpt, ulong linear)
    {
        var entry = ReadEntry(memory, pdpt + (((linear >> 30) & 0x3) * 8));
        return entry is { } value && (value & Present) != 0 ? Walk(memory, value & AddressMask, linear & 0x3FFF_FFFF, levels: 2) : null;
    }

    private static ulong? ReadEntry(GuestMemory memory, ulong address)
        => memory.Contains(address, 8) ? memory.ReadUInt64(address) : null;
}
