using PvhVm.Core.Machine;
using PvhVm.Module.Logging;

namespace PvhVm.Module.Registry;

/// <summary>A VM in the session registry, with the queue its engine logs into.</summary>
internal sealed record RegisteredVm(VirtualMachine Vm, VmLogQueue Log)
{
    public string Name => Vm.Name;
}
