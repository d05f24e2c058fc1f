namespace PvhVm.Core.Kernel;

/// <summary>Xen's ELF notes (xen/include/public/elfnote.h): names and typed values.</summary>
internal static class XenNotes
{
    public const string Owner = "Xen";
    public const uint Phys32Entry = 18;

    private static readonly string[] Names =
    [
        "XEN_ELFNOTE_INFO",
        "XEN_ELFNOTE_ENTRY",
        "XEN_ELFNOTE_HYPERCALL_PAGE",
        "XEN_ELFNOTE_VIRT_BASE",
        "XEN_ELFNOTE_PADDR_OFFSET",
        "XEN_ELFNOTE_XEN_VERSION",
        "XEN_ELFNOTE_GUEST_OS",
        "XEN_ELFNOTE_GUEST_VERSION",
        "XEN_ELFNOTE_LOADER",
        "XEN_ELFNOTE_PAE_MODE",
        "XEN_ELFNOTE_FEATURES",
        "XEN_ELFNOTE_BSD_SYMTAB",
        "XEN_ELFNOTE_HV_START_LOW",
        "XEN_ELFNOTE_L1_MFN_VALID",
        "XEN_ELFNOTE_SUSPEND_CANCEL",
        "XEN_ELFNOTE_INIT_P2M",
        "XEN_ELFNOTE_MOD_START_PFN",
        "XEN_ELFNOTE_SUPPORTED_FEATURES",
        "XEN_ELFNOTE_PHYS32_ENTRY",
        "XEN_ELFNOTE_PHYS32_RELOC",
    ];

    // XENFEAT_* bit numbers (xen/include/public/features.h), for SUPPORTED_FEATURES.
    private static readonly string[] FeatureBits =
    [
        "writable_page_tables",
        "writable_descriptor_tables",
        "auto_translated_physmap",
        "supervisor_mode_kernel",
        "pae_pgdir_above_4gb",
        "mmu_pt_update_preserve_ad",
        "highmem_assist",
        "gnttab_map_avail_bits",
        "hvm_callback_vector",
        "hvm_safe_pvclock",
        "hvm_pirqs",
        "dom0",
        "grant_map_identity",
        "memory_op_vnode_supported",
        "ARM_SMCCC_supported",
        "linux_rsdp_unrestricted",
        "not_direct_mapped",
        "direct_mapped",
    ];

    public static (string TypeName, object? Value) Decode(uint type, byte[] d)
    {
        string name = type < Names.Length ? Names[type] : DumpCoreName(type) ?? NoteDecoder.Unknown(type);
        object? value = type switch
        {
            // Strings.
            0 or 5 or 6 or 7 or 8 or 9 or 11 => NoteDecoder.Text(d),

            // '|'-separated feature names; a leading '!' marks a required feature.
            10 => NoteDecoder.Text(d).Split('|', StringSplitOptions.RemoveEmptyEntries),

            // Mask/value pairs of pointer-sized words.
            13 => NoteDecoder.Numbers(d, d.Length % 8 == 0 ? 8 : 4),

            // A 32-bit map of XENFEAT_* bits.
            17 => NoteDecoder.Number(d) is { } bits ? FeatureNames(bits) : null,

            // Alignment, minimum and maximum load address, 32 bits each.
            19 => NoteDecoder.Numbers(d, 4),

            // Everything else is one number (ENTRY, HYPERCALL_PAGE, VIRT_BASE, ..., PHYS32_ENTRY).
            1 or 2 or 3 or 4 or 12 or 14 or 15 or 16 or 18 => NoteDecoder.Boxed(NoteDecoder.Number(d)),
            _ => null,
        };
        return (name, value);
    }

    private static string[] FeatureNames(ulong bits)
    {
        var names = new List<string>();
        for (int bit = 0; bit < 64; bit++)
        {
            if ((bits & (1UL << bit)) != 0)
            {
                names.Add(bit < FeatureBits.Length ? FeatureBits[bit] : $"bit{bit}");
            }
        }

        return names.ToArray();
    }

    // Notes in Xen core dumps (XEN_ELFNOTE_DUMPCORE_*).
    private static string? DumpCoreName(uint type) => type switch
    {
        0x2000000 => "XEN_ELFNOTE_DUMPCORE_NONE",
        0x2000001 => "XEN_ELFNOTE_DUMPCORE_HEADER",
        0x2000002 => "XEN_ELFNOTE_DUMPCORE_XEN_VERSION",
        0x2000003 => "XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION",
        _ => null,
    };
}
