using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>
/// Keeps one <see cref="PreparedVm"/> ready for the next start of the same memory size, prepared in the
/// background while the current guest runs. A prepared VM has never run a guest, so no guest data can
/// pass from one VM to the next; a size that differs from the one ready gets a fresh VM.
/// </summary>
internal static class PreparedVmPool
{
    private static readonly object Gate = new();
    private static PreparedVm? _ready;
    private static ulong? _preparingSize;
    private static volatile bool _refillAfterTake = true;

    /// <summary>The VM the next <see cref="Take"/> of its size hands out, once the background refill has made it.</summary>
    internal static PreparedVm? Ready
    {
        get
        {
            lock (Gate)
            {
                return _ready;
            }
        }
    }

    /// <summary>
    /// Starts preparing a VM of <paramref name="ramSize"/> bytes in the background, for a start that has not been asked
    /// for yet. With <paramref name="refillAfterTake"/> false, a take prepares no VM after it: a process that runs one VM
    /// (the host program) would only pay for one it never uses.
    /// </summary>
    public static void PrepareAhead(ulong ramSize, bool refillAfterTake)
    {
        _refillAfterTake = refillAfterTake;
        Refill(ramSize);
    }

    /// <summary>
    /// A prepared VM of <paramref name="ramSize"/> bytes: the one ready, the one being prepared for that size once it is
    /// (sooner than a second preparation beside it), or one made now; then refills the pool.
    /// </summary>
    public static PreparedVm Take(ulong ramSize)
    {
        PreparedVm? taken = null;
        PreparedVm? stale = null;
        lock (Gate)
        {
            while (_ready is null && _preparingSize == ramSize)
            {
                Monitor.Wait(Gate);
            }

            if (_ready is not null)
            {
                if (_ready.Memory.RamSize == ramSize)
                {
                    taken = _ready;
                }
                else
                {
                    stale = _ready;
                }

                _ready = null;
            }
        }

        stale?.Dispose();
        taken ??= PreparedVm.Create(ramSize);
        if (_refillAfterTake)
        {
            Refill(ramSize);
        }

        return taken;
    }

    private static void Refill(ulong ramSize)
    {
        lock (Gate)
        {
            if (_preparingSize is not null || _ready is not null)
            {
                return;
            }

            _preparingSize = ramSize;
        }

        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            PreparedVm? prepared = null;
            try
            {
                // Never take the last descriptors from a VM the user is starting.
                DescriptorHeadroom.Ensure(2);
                prepared = PreparedVm.Create(ramSize);
            }
            catch (Exception)
            {
                // Nothing is lost: the next start prepares its own VM and reports the error itself. Whatever went
                // wrong here, an exception escaping a pool thread would end the host process.
            }

            lock (Gate)
            {
                _preparingSize = null;
                if (_ready is null)
                {
                    (_ready, prepared) = (prepared, null);
                }

                Monitor.PulseAll(Gate);
            }

            prepared?.Dispose();
        }, null);
    }
}
