using System.Management.Automation;
using System.Net.Sockets;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;
using PvhVm.Module.Vsock;

namespace PvhVm.Module.Commands;

/// <summary>A cmdlet that opens a connection to a port of one VM's guest through its vsock socket.</summary>
public abstract class VsockCmdlet : PvhCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    [Alias("VMName")]
    public string Name { get; set; } = "";

    /// <summary>The guest's vsock port, where a program in the guest listens.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public uint Port { get; set; }

    /// <summary>How long to wait for the guest to accept (and, for Invoke-PvhVsock, to end its reply).</summary>
    [Parameter]
    [ValidateRange(0.001, 86400)]
    public double TimeoutSeconds { get; set; } = 10;

    private protected TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary>The connected socket after `OK`, or null with the error written.</summary>
    private protected Socket? Open(out VmHandle? vm)
    {
        vm = null;
        if (VmRegistry.Match(WildcardPattern.Escape(Name)) is not [var entry])
        {
            WriteError(VmErrors.NotFound(Name));
            return null;
        }

        vm = entry;
        if (vm.VsockPath is not { } path)
        {
            WriteError(VmErrors.VsockNotEnabled(vm));
            return null;
        }

        try
        {
            return VsockClient.Connect(path, Port, Timeout);
        }
        catch (VsockConnectException e)
        {
            WriteError(VmErrors.VsockConnectFailed(vm, e));
            return null;
        }
    }
}
