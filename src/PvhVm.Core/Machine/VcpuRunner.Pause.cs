namespace PvhVm.Core.Machine;

/// <summary>
/// Pausing one vCPU: its thread leaves the guest through a KVM_RUN with immediate_exit (which completes a pending
/// I/O exit first, so registers are consistent) and waits, out of KVM_RUN, until resumed or stopped.
/// </summary>
internal sealed partial class VcpuRunner
{
    private readonly object _pauseGate = new();
    private volatile bool _pauseRequested;
    private bool _pausedOut;
    private bool _finished;

    /// <summary>Asks the thread to leave the guest and wait; <see cref="WaitPausedOut"/> says when it has.</summary>
    public void RequestPause()
    {
        _pauseRequested = true;
        Kick(stop: true);
    }

    /// <summary>True once the thread waits out the pause (or has finished); false when <paramref name="deadline"/> passed first.</summary>
    public bool WaitPausedOut(Deadline deadline)
    {
        lock (_pauseGate)
        {
            while (!_pausedOut && !_finished)
            {
                var remaining = deadline.RemainingMilliseconds;
                if (remaining == 0 || !Monitor.Wait(_pauseGate, remaining))
                {
                    return _pausedOut || _finished;
                }
            }

            return true;
        }
    }

    /// <summary>Lets the thread enter the guest again.</summary>
    public void Resume()
    {
        _pauseRequested = false;
        WakeFromPause();
    }

    private void WaitOutPause()
    {
        lock (_pauseGate)
        {
            _pausedOut = true;
            Monitor.PulseAll(_pauseGate);
            while (_pauseRequested && !_stopRequested)
            {
                Monitor.Wait(_pauseGate);
            }

            _pausedOut = false;
        }

        // A stop that came meanwhile set immediate_exit too: the loop sees its flag before entering the guest again.
        _vcpu.ImmediateExit = false;
    }

    private void WakeFromPause()
    {
        lock (_pauseGate)
        {
            Monitor.PulseAll(_pauseGate);
        }
    }

    private void MarkFinished()
    {
        lock (_pauseGate)
        {
            _finished = true;
            Monitor.PulseAll(_pauseGate);
        }
    }
}
