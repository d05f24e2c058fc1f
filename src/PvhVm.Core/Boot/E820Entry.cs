namespace PvhVm.Core.Boot;

/// <summary>One entry of the memory map handed to the guest (hvm_memmap_table_entry, 24 bytes).</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type)
{
    public const int EncodedSize = 24;

    public ulong End => Address + Size;
}
