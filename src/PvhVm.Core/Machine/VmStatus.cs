namespace PvhVm.Core.Machine;

/// <summary>
/// Where a VM is in its life, as one immutable snapshot: a transition replaces the whole record, so a reader of
/// <see cref="VirtualMachine.Status"/> sees a state together with its exit reason, never one without the other.
/// <see cref="ExitReason"/> is set exactly when the state is Stopping, Stopped or Failed.
/// </summary>
/// <param name="State">The lifecycle state.</param>
/// <param name="ExitReason">Why the VM ended or is ending; null while it is Created, Starting or Running.</param>
/// <param name="Fault">Details when it ended with a fault or failed to boot.</param>
/// <param name="StartTime">When the vCPUs were started.</param>
/// <param name="StopTime">When the last vCPU was out, or the boot failed.</param>
public sealed record VmStatus(VmState State, VmExitReason? ExitReason, VmFault? Fault, DateTimeOffset? StartTime, DateTimeOffset? StopTime)
{
    internal static VmStatus Created { get; } = new(VmState.Created, null, null, null, null);
}
