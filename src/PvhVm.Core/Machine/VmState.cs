namespace PvhVm.Core.Machine;

public enum VmState
{
    Created,
    Starting,
    Running,
    Stopping,
    Stopped,
    Failed,

    /// <summary>Every vCPU out of the guest and waiting, the guest's clock held: Suspend made it so, Resume goes on.</summary>
    Paused,
}
