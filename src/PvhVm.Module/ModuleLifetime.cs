using System.Management.Automation;
using PvhVm.Module.Vms;

namespace PvhVm.Module;

/// <summary>Remove-Module PvhVm stops and frees every in-process VM, so no vCPU thread outlives the module; host-process VMs run on.</summary>
public sealed class ModuleLifetime : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => VmRegistry.ShutdownAll();
}
