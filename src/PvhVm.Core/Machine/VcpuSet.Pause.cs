using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>Pausing and resuming every vCPU of the set; the halt watchdog rests meanwhile (a paused vCPU makes no exits).</summary>
internal sealed partial class VcpuSet
{
    private volatile bool _paused;

    /// <summary>The vCPUs, for reading and setting their state while every thread is out of the guest.</summary>
    public IReadOnlyList<KvmVcpu> Vcpus => _vcpus;

    /// <summary>Takes every vCPU out of the guest; true once all wait (or have finished), false when the timeout passed first.</summary>
    public bool Pause(TimeSpan timeout)
    {
        _paused = true;
        foreach (var runner in _runners)
        {
            runner.RequestPause();
        }

        var deadline = Deadline.After(timeout);
        return _runners.All(runner => runner.WaitPausedOut(deadline));
    }

    public void Resume()
    {
        _paused = false;
        foreach (var runner in _runners)
        {
            runner.Resume();
        }
    }
}
