namespace PvhVm.Core.Kernel;

/// <summary>Decides whether an image can start through PVH and where: the XEN_ELFNOTE_PHYS32_ENTRY note.</summary>
internal static class PvhEntry
{
    public static (uint? Entry, string? Reason) Find(ElfLayout layout, IReadOnlyList<ElfNote> notes)
    {
        if (layout.Machine is not (ElfNames.MachineX86 or ElfNames.MachineX86_64))
        {
            return (null, $"the image is for {ElfNames.Machine(layout.Machine)}, not x86");
        }

        var note = notes.FirstOrDefault(n => n.Owner == XenNotes.Owner && n.Type == XenNotes.Phys32Entry);
        if (note is null)
        {
            return (null, "no XEN_ELFNOTE_PHYS32_ENTRY (Xen note type 18): the kernel was built without PVH support");
        }

        if (note.Descriptor.Length is not (4 or 8) || note.Value is not ulong address)
        {
            return (null, $"XEN_ELFNOTE_PHYS32_ENTRY has a {note.Descriptor.Length}-byte descriptor; 4 or 8 bytes expected");
        }

        if (address > uint.MaxValue)
        {
            return (null, $"XEN_ELFNOTE_PHYS32_ENTRY 0x{address:x} lies above 4 GiB, out of reach of 32-bit code");
        }

        var loads = layout.Segments.Where(s => s.TypeCode == ElfSegment.PtLoad).ToList();
        if (loads.Count == 0)
        {
            return ((uint)address, "the image has no LOAD segments");
        }

        if (!loads.Any(s => address >= s.PhysicalAddress && address - s.PhysicalAddress < s.FileSize))
        {
            return ((uint)address, $"the PVH entry 0x{address:x} lies outside the file bytes of every LOAD segment");
        }

        return ((uint)address, null);
    }
}
