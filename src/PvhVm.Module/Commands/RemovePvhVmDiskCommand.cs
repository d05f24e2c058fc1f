using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Remove-PvhVmDisk: detaches disks from VMs that have not started, by guest name (vda, ...) or as disk objects from
/// Get-PvhVmDisk. The disks after a removed one move up a name. The image file is left as it is.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PvhVmDisk", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByDisk)]
[OutputType(typeof(void))]
public sealed class RemovePvhVmDiskCommand : VmTargetCmdlet
{
    private const string ByDisk = "ByDisk";

    [Parameter(ParameterSetName = ByName, Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = ByVm, Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DiskGuestNameCompleter))]
    public string[] GuestName { get; set; } = [];

    /// <summary>Disks from Get-PvhVmDisk; each is found in its VM by its image path.</summary>
    [Parameter(ParameterSetName = ByDisk, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public VmDisk[] Disk { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByDisk)
        {
            foreach (var disk in Disk)
            {
                if (VmRegistry.Match(WildcardPattern.Escape(disk.VmName)) is [var entry])
                {
                    Remove(entry, entry.GetDisks().Where(current => current.Path == disk.Path).Select(current => current.GuestName));
                }
                else
                {
                    WriteError(VmErrors.NotFound(disk.VmName));
                }
            }

            return;
        }

        foreach (var entry in ResolveTargets())
        {
            Remove(entry, GuestName);
        }
    }

    /// <summary>Removes the last first, so that the names still to remove keep meaning the disks they named.</summary>
    private void Remove(VmHandle entry, IEnumerable<string> guestNames)
    {
        foreach (var guestName in guestNames.Distinct(StringComparer.Ordinal).OrderDescending(StringComparer.Ordinal))
        {
            if (!ShouldProcess(entry.Name, $"Remove disk {guestName}"))
            {
                continue;
            }

            try
            {
                if (!entry.RemoveDisk(guestName))
                {
                    WriteError(VmErrors.DiskNotFound(entry, guestName));
                }
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(EngineErrors.Record(e, entry));
            }
        }
    }
}
