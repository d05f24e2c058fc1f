namespace PvhVm.Module.Vms;

/// <summary>
/// Suspend, resume or checkpoint asked of a host-process VM: only an in-process VM's engine can pause and save it so far
/// (the host API has no pause or checkpoint request yet).
/// </summary>
internal sealed class CheckpointNeedsInProcessVmException(VmHandle vm, string operation) : NotSupportedException(
    $"Cannot {operation} VM '{vm.Name}': it runs in a host process, and pausing or checkpointing a host-process VM is not there yet. Create it with New-PvhVm -InProcess to suspend, resume or checkpoint it.");
