using System.Runtime.InteropServices;
using PvhVm.Core.Boot.Acpi;
using PvhVm.Core.Kernel;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Boot;

/// <summary>Lays out a PVH boot in guest memory: kernel segments, GDT, start_info, memory map, command line, modules, ACPI.</summary>
internal static class PvhBootLoader
{
    /// <summary>
    /// Validates everything first (processor count, command line, entry, segments, initrd, placement), then writes
    /// the kernel, initrd, GDT, command line, ACPI tables and start_info into <paramref name="memory"/>.
    /// Throws <see cref="BootException"/> for anything that cannot be booted as asked.
    /// </summary>
    public static BootPlan Load(GuestMemory memory, ILoadableKernel kernel, BootParameters parameters)
    {
        if (parameters.ProcessorCount is < 1 or > Layout.MaxProcessors)
        {
            throw new BootException(BootErrorKind.InvalidProcessorCount,
                $"Processor count {parameters.ProcessorCount} is outside 1..{Layout.MaxProcessors}.");
        }

        var commandLine = CommandLine.Encode(parameters.CommandLine, kernel.CommandLineLimit);
        var entry = kernel.PvhEntryPoint
            ?? throw new BootException(BootErrorKind.NotPvhBootable, $"'{kernel.Path}' has no PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY).");
        if (memory.RamSize < Layout.MinimumRamSize)
        {
            throw new BootException(BootErrorKind.MemoryTooSmall,
                $"Guest RAM of {memory.RamSize} bytes is below the minimum of {Layout.MinimumRamSize} bytes that the boot structures need.");
        }

        var acpi = AcpiTables.Build(Layout.AcpiTablesAddress, parameters.ProcessorCount, parameters.DsdtDevices);
        var layout = LayoutBuilder.For(memory, $"{AcpiTables.Summary}, {parameters.ProcessorCount} CPU(s)");
        var memoryMap = MemoryMapBuilder.FromLayout(layout.Regions);

        using var initrd = parameters.InitrdPath is null ? null : InitrdFile.Open(parameters.InitrdPath);
        ClaimBootStructure(layout, Layout.GdtAddress, BootGdt.Size, RegionUsage.Gdt, "boot GDT (null, code 0x08, data 0x10, TSS 0x18)");
        ClaimBootStructure(layout, Layout.StartInfoAddress, (ulong)Marshal.SizeOf<HvmStartInfo>(),
            RegionUsage.StartInfo, "hvm_start_info (version 1)");
        if (initrd is not null)
        {
            ClaimBootStructure(layout, Layout.ModuleListAddress, (ulong)Marshal.SizeOf<HvmModListEntry>(),
                RegionUsage.ModuleList, "module list (1 module: initrd)");
        }

        ClaimBootStructure(layout, Layout.MemoryMapTableAddress, (ulong)(memoryMap.Count * E820Entry.EncodedSize),
            RegionUsage.MemoryMapTable, $"memory map table ({memoryMap.Count} entries)");
        ClaimBootStructure(layout, Layout.CommandLineAddress, (ulong)commandLine.Length, RegionUsage.CommandLine,
            $"kernel command line ({commandLine.Length - 1} bytes + NUL)");

        KernelSegmentLoader.Claim(layout, memory, kernel);
        KernelSegmentLoader.CheckEntry(kernel, entry);
        var initrdAddress = initrd is null ? (ulong?)null : PlaceInitrd(layout, memory, initrd);

        KernelSegmentLoader.Load(memory, kernel);
        if (initrd is not null)
        {
            initrd.ReadInto(memory, initrdAddress!.Value);
        }

        BootGdt.Write(memory, Layout.GdtAddress);
        memory.Write(Layout.CommandLineAddress, commandLine);
        memory.Write(Layout.AcpiTablesAddress, acpi.Image);
        StartInfoWriter.Write(memory, Layout.CommandLineAddress, acpi.RsdpAddress, memoryMap,
            initrd is null ? null : new StartInfoWriter.Module(initrdAddress!.Value, initrd.Size));

        return new BootPlan(PvhEntryState.Create(entry, Layout.StartInfoAddress), Layout.StartInfoAddress,
            memoryMap, layout.Regions.ToArray());
    }

    /// <summary>
    /// The initrd goes as high as possible in RAM below the MMIO hole, page-aligned, above 1 MiB and clear of the
    /// kernel: where Linux expects it (its initrd_addr_max is below 4 GiB) and far from the kernel's own growth.
    /// </summary>
    private static ulong PlaceInitrd(LayoutBuilder layout, GuestMemory memory, InitrdFile initrd)
    {
        var ceiling = Math.Min(memory.Regions[0].End, Layout.MmioHoleStart);
        return layout.TryClaimHighest(initrd.Size, GuestMemory.PageSize, Layout.HighMemoryStart, ceiling, RegionUsage.Initrd,
                $"initrd ({Path.GetFileName(initrd.Path)}, {initrd.Size} bytes)")
            ?? throw new BootException(BootErrorKind.InitrdTooLarge,
                $"Initrd '{initrd.Path}' ({initrd.Size} bytes) does not fit in free RAM between 1 MiB and 0x{ceiling:x} next to the kernel.");
    }

    /// <summary>Fixed boot structures always fit once RAM covers the first megabyte; a failure here is a layout bug.</summary>
    private static void ClaimBootStructure(LayoutBuilder layout, ulong address, ulong size, RegionUsage usage, string description)
    {
        if (!layout.TryClaim(address, size, usage, description, out var blocker))
        {
            throw new InvalidOperationException($"{description} at 0x{address:x} collides with {blocker?.Description ?? "nothing in RAM"}.");
        }
    }
}
