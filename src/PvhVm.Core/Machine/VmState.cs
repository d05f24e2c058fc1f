namespace PvhVm.Core.Machine;

public enum VmState
{
    Created,
    Starting,
    Running,
    Stopping,
    Stopped,
    Failed,
}
