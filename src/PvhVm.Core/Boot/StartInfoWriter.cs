using System.Runtime.InteropServices;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Boot;

/// <summary>
/// Writes hvm_start_info, its module list and its memory-map table at the addresses of <see cref="Layout"/>.
/// The start_info address is what the boot vCPU receives in EBX.
/// </summary>
internal static class StartInfoWriter
{
    /// <summary>The initrd as module 0: where it was loaded and how many bytes it has.</summary>
    public readonly record struct Module(ulong Address, ulong Size);

    public static void Write(GuestMemory memory, ulong commandLineAddress, ulong rsdpAddress,
        IReadOnlyList<E820Entry> memoryMap, Module? initrd)
    {
        if (memoryMap.Count > Layout.MemoryMapTableCapacity)
        {
            throw new ArgumentException($"The memory map has {memoryMap.Count} entries; the table holds {Layout.MemoryMapTableCapacity}.", nameof(memoryMap));
        }

        var table = memory.GetSpan(Layout.MemoryMapTableAddress, memoryMap.Count * E820Entry.EncodedSize);
        for (var i = 0; i < memoryMap.Count; i++)
        {
            var entry = new HvmMemmapTableEntry { Address = memoryMap[i].Address, Size = memoryMap[i].Size, Type = (uint)memoryMap[i].Type };
            MemoryMarshal.Write(table[(i * E820Entry.EncodedSize)..], in entry);
        }

        if (initrd is { } module)
        {
            var entry = new HvmModListEntry { Address = module.Address, Size = module.Size };
            MemoryMarshal.Write(memory.GetSpan(Layout.ModuleListAddress, Marshal.SizeOf<HvmModListEntry>()), in entry);
        }

        var startInfo = new HvmStartInfo
        {
            Magic = HvmStartInfo.MagicValue,
            Version = HvmStartInfo.CurrentVersion,
            ModuleCount = initrd is null ? 0u : 1u,
            ModuleListAddress = initrd is null ? 0 : Layout.ModuleListAddress,
            CommandLineAddress = commandLineAddress,
            RsdpAddress = rsdpAddress,
            MemoryMapAddress = Layout.MemoryMapTableAddress,
            MemoryMapEntryCount = (uint)memoryMap.Count,
        };
        MemoryMarshal.Write(memory.GetSpan(Layout.StartInfoAddress, Marshal.SizeOf<HvmStartInfo>()), in startInfo);
    }
}
