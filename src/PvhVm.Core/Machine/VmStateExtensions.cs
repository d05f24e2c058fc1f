namespace PvhVm.Core.Machine;

/// <summary>The rules that group <see cref="VmState"/>s, for every caller to share.</summary>
public static class VmStateExtensions
{
    /// <summary>Started and not yet exited: vCPU threads may be running.</summary>
    public static bool IsActive(this VmState state) => state is VmState.Starting or VmState.Running or VmState.Paused or VmState.Stopping;

    /// <summary>Exited, normally or not.</summary>
    public static bool HasExited(this VmState state) => state is VmState.Stopped or VmState.Failed;
}
