namespace PvhVm.Core.Boot;

/// <summary>e820 memory types, as in hvm_memmap_table_entry.type.</summary>
public enum E820Type : uint
{
    Ram = 1,
    Reserved = 2,
    Acpi = 3,
    Nvs = 4,
    Unusable = 5,
    Disabled = 6,
    PersistentMemory = 7,
}
