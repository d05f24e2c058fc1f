using PvhVm.Core.Kernel;

namespace PvhVm.Core.Boot;

/// <summary>Lays out a PVH boot in guest memory: kernel segments, GDT, start_info, memory map, command line, modules, ACPI.</summary>
public static class PvhBootLoader
{
    public static BootPlan Load(GuestMemory memory, ILoadableKernel kernel, BootParameters parameters)
        => throw new NotImplementedException("Boot layer: in progress.");
}
