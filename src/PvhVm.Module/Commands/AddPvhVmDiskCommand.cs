using System.Management.Automation;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Commands;

/// <summary>Add-PvhVmDisk: attaches raw image files to VMs that have not started, after their other disks.</summary>
[Cmdlet(VerbsCommon.Add, "PvhVmDisk", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmDisk))]
public sealed class AddPvhVmDiskCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>The guest sees the disk read-only (VIRTIO_BLK_F_RO) and the image is shared with other readers.</summary>
    [Parameter]
    public SwitchParameter ReadOnly { get; set; }

    /// <summary>What the guest reads as the disk's serial: up to 20 printable ASCII characters.</summary>
    [Parameter]
    [AllowEmptyString]
    public string Serial { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            foreach (var path in Path)
            {
                if (!TryResolveFileSystemPath(path, out var resolved, out var error))
                {
                    WriteError(error);
                    continue;
                }

                if (!ShouldProcess(entry.Name, $"Add {(ReadOnly ? "read-only" : "writable")} disk '{resolved}'"))
                {
                    continue;
                }

                try
                {
                    var disk = entry.AddDisk(new DiskConfig(resolved, ReadOnly, Serial));
                    if (PassThru)
                    {
                        WriteObject(Tagged(disk, GetPvhVmDiskCommand.DiskTypeName));
                    }
                }
                catch (Exception e) when (e is not PipelineStoppedException)
                {
                    WriteError(EngineErrors.Record(e, entry));
                }
            }
        }
    }
}
