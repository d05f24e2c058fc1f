using System.Management.Automation;
using PvhVm.Module.Records;

namespace PvhVm.Module.Commands;

/// <summary>
/// Get-PvhMemoryMap: a started VM's guest-physical memory map - each range with its e820 type and what the
/// engine placed there (kernel segments, start_info, command line, module list, initrd, ACPI tables, free RAM, MMIO hole).
/// </summary>
[Cmdlet(VerbsCommon.Get, "PvhMemoryMap", DefaultParameterSetName = ByVm)]
[OutputType(typeof(MemoryRegionRecord))]
public sealed class GetPvhMemoryMapCommand : VmTargetCmdlet
{
    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            var map = entry.MemoryMap;
            if (map.Count == 0)
            {
                WriteVerbose($"VM '{entry.Name}' has not been started; its memory is laid out when it starts.");
            }

            foreach (var region in map)
            {
                WriteObject(Tagged(MemoryRegionRecord.From(entry.Name, region), MemoryRegionRecord.TypeName));
            }
        }
    }
}
