using System.Management.Automation;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Commands;

/// <summary>Get-PvhVmNetworkAdapter: the network adapters of VMs, in guest order, with their packet, byte and drop counts.</summary>
[Cmdlet(VerbsCommon.Get, "PvhVmNetworkAdapter", DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmNetworkAdapter))]
public sealed class GetPvhVmNetworkAdapterCommand : VmTargetCmdlet
{
    internal const string AdapterTypeName = "PvhVm.NetworkAdapter";

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            foreach (var adapter in entry.GetNetworkAdapters())
            {
                WriteObject(Tagged(adapter, AdapterTypeName));
            }
        }
    }
}
