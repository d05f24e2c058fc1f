using System.Management.Automation;
using PvhVm.Core.Kvm;

namespace PvhVm.Module.Commands;

/// <summary>Test-PvhHost: whether this host can run PvhVm VMs (/dev/kvm present and usable) and, if not, why and how to fix it.</summary>
[Cmdlet(VerbsDiagnostic.Test, "PvhHost")]
[OutputType(typeof(HostInfo), typeof(bool))]
public sealed class TestPvhHostCommand : PvhCmdlet
{
    /// <summary>The KVM device to probe: a PowerShell path (relative to $PWD, ~, PSDrives) of the FileSystem provider.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string DevicePath { get; set; } = "/dev/kvm";

    /// <summary>Returns only $true or $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        if (!TryResolveFileSystemPath(DevicePath, out var device, out var error))
        {
            WriteError(error);
            return;
        }

        var info = KvmHost.Probe(device);
        if (Quiet)
        {
            WriteObject(info.IsUsable);
        }
        else
        {
            WriteObject(Tagged(info, "PvhVm.HostInfo"));
        }
    }
}
