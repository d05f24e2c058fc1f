using Microsoft.Extensions.Logging;
using PvhVm.Core.Checkpoints;

namespace PvhVm.Core.Machine;

/// <summary>
/// Suspend and Resume: every vCPU out of the guest and waiting, the device threads parked, kvm-clock read at the pause and set back on resume so
/// the guest's clock does not jump by the time it was paused (as QEMU does with KVM_GET_CLOCK/KVM_SET_CLOCK).
/// </summary>
public sealed partial class VirtualMachine
{
    /// <summary>How long Suspend waits for the vCPUs: one exit's time normally, seconds on a loaded host.</summary>
    private static readonly TimeSpan PauseGrace = TimeSpan.FromSeconds(10);

    // One pause operation at a time (Suspend, Resume, Checkpoint); never held with _gate while waiting for vCPUs.
    private readonly object _pauseGate = new();
    private ulong _pausedClock;

    /// <summary>
    /// Takes every vCPU out of the guest, parks the device threads that move guest memory (each finishes the request it
    /// took) and holds the guest's clock. Throws <see cref="InvalidOperationException"/> unless Running, or
    /// <see cref="CheckpointException"/> when a vCPU did not come out in time (the VM then runs on).
    /// </summary>
    public void Suspend()
    {
        lock (_pauseGate)
        {
            var vcpus = ActiveVcpus("suspend", VmState.Running);
            if (!vcpus.Pause(PauseGrace))
            {
                vcpus.Resume();
                throw new CheckpointException(CheckpointErrorKind.PauseTimeout, null, $"VM '{Name}': a vCPU did not leave the guest within {PauseGrace}; it runs on.");
            }

            // After the vCPUs: none can notify a queue now, so what the I/O thread is serving is the last request.
            _devices!.Quiesce();
            _pausedClock = _prepared!.Vm.GetClock().Clock;
            lock (_gate)
            {
                // A VM that ended meanwhile keeps its Stopping state; its vCPUs are out anyway.
                if (_status.State == VmState.Running)
                {
                    Publish(_status with { State = VmState.Paused });
                }
            }

            _logger.LogDebug("VM {Name} paused at kvm-clock {Clock} ns", Name, _pausedClock);
        }
    }

    /// <summary>Sets the guest's clock back to where it was paused and lets every vCPU enter the guest again.</summary>
    public void Resume()
    {
        lock (_pauseGate)
        {
            var vcpus = ActiveVcpus("resume", VmState.Paused);
            _prepared!.Vm.SetClock(_pausedClock);
            lock (_gate)
            {
                if (_status.State == VmState.Paused)
                {
                    Publish(_status with { State = VmState.Running });
                }
            }

            _devices!.Unquiesce();
            vcpus.Resume();
            _logger.LogDebug("VM {Name} resumed at kvm-clock {Clock} ns", Name, _pausedClock);
        }
    }

    /// <summary>The vCPU set, when the VM is in <paramref name="required"/>; otherwise InvalidOperationException.</summary>
    private VcpuSet ActiveVcpus(string operation, VmState required)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_status.State != required || _vcpus is null || _prepared is null)
            {
                throw new InvalidOperationException($"VM '{Name}' is {_status.State}; only a VM in state {required} can {operation}.");
            }

            return _vcpus;
        }
    }
}
