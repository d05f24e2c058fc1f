using System.Management.Automation;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Commands;

/// <summary>Get-PvhVmDisk: the disks of VMs, in guest order, with their request and byte counts.</summary>
[Cmdlet(VerbsCommon.Get, "PvhVmDisk", DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmDisk))]
public sealed class GetPvhVmDiskCommand : VmTargetCmdlet
{
    internal const string DiskTypeName = "PvhVm.Disk";

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            foreach (var disk in entry.GetDisks())
            {
                WriteObject(Tagged(disk, DiskTypeName));
            }
        }
    }
}
