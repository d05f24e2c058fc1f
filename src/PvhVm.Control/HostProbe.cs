using PvhVm.Core.Machine;

namespace PvhVm.Control;

/// <summary>
/// What a VM folder says without asking its host: whether the host process that wrote its state is still that live
/// process (pid and start time: a recycled pid or a stale socket never counts), and for a dead one how it ended.
/// </summary>
/// <param name="LastState">What the host last wrote; null for a folder with no readable state (a launch cut short).</param>
/// <param name="Exit">For a dead host, what its monitor recorded; null while alive, or when the monitor died too.</param>
public sealed record HostProbe(VmFolder Folder, VmDescription? LastState, bool IsAlive, HostExit? Exit)
{
    public static HostProbe Of(VmFolder folder)
    {
        var state = folder.ReadState();
        var alive = state is not null && ProcessStartTime.IsAlive(state.ProcessId, state.ProcessStartTicks);
        return new(folder, state, alive, alive ? null : folder.ReadExit());
    }

    /// <summary>
    /// The status a dead host's VM has: Failed, with the host's end as the fault (signal or exit code), unless the VM had
    /// already ended on its own before (then that status stands). Null while the host lives: ask it.
    /// </summary>
    public VmStatus? DeadStatus()
    {
        if (IsAlive)
        {
            return null;
        }

        var last = LastState?.Status;
        if (last is { State: VmState.Stopped or VmState.Failed })
        {
            return last;
        }

        var reason = Exit?.ToString() ?? "the host process ended and no exit status was recorded";
        return new VmStatus(VmState.Failed, VmExitReason.Fault, new VmFault(-1, "host process ended", null, 0, [], $"VM '{LastState?.Name ?? Folder.Name}': {reason}."),
            last?.StartTime, last?.StopTime ?? DateTimeOffset.Now);
    }
}
