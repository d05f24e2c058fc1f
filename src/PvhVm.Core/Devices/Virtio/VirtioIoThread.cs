using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Interop;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// A VM's device I/O thread: KVM signals an ioeventfd when the guest writes a queue's index to a device's QueueNotify
/// (no exit to this process), and this thread serves that queue, so the vCPU goes straight back into the guest. One
/// thread per VM, not per device: on a small host a thread per device would only contend for the same cores, and the
/// transports serialise each device under its own lock anyway. A notify KVM does not match (an index with no queue)
/// still exits and is served on the vCPU thread, where the transport refuses it as before.
/// Stopped and joined by <see cref="Dispose"/>, which the VM calls before guest RAM is unmapped; parked the same way
/// (and started again) by a pause: a notification meanwhile stays counted in its eventfd and is served on the way back.
/// </summary>
internal sealed class VirtioIoThread : IParkableThreads, IDisposable
{
    private readonly KvmVm _vm;
    private readonly ILogger _logger;
    private readonly List<(Wakeup Notified, VirtioMmioTransport Transport, uint Queue)> _queues = [];
    private readonly Wakeup _stop = new();
    private Thread? _thread;

    public VirtioIoThread(KvmVm vm, ILogger logger)
    {
        _vm = vm;
        _logger = logger;
    }

    /// <summary>Whether this VM's KVM can notify through ioeventfds and interrupt through irqfds.</summary>
    public static bool Supported(KvmVm vm) => vm.CheckExtension(KvmCapability.Ioeventfd) > 0 && vm.CheckExtension(KvmCapability.Irqfd) > 0;

    /// <summary>Gives each queue of <paramref name="transport"/>, whose window is at <paramref name="window"/>, an ioeventfd served here.</summary>
    public void Attach(VirtioMmioTransport transport, ulong window)
    {
        for (var queue = 0u; queue < transport.QueueCount; queue++)
        {
            var notified = new Wakeup();
            try
            {
                _vm.AssignIoeventfd(window + VirtioMmioRegister.QueueNotify, queue, notified.Descriptor);
            }
            catch
            {
                notified.Dispose();
                throw;
            }

            _queues.Add((notified, transport, queue));
        }
    }

    public void Start()
    {
        _thread = new Thread(ServeUntilStopped) { IsBackground = true, Name = "virtio io" };
        _thread.Start();
    }

    /// <summary>Stops the thread after the request it is serving, if any; the eventfds stay, with what they count.</summary>
    public void Park()
    {
        _stop.Signal();
        _thread?.Join();
        _stop.Drain();
        _thread = null;
    }

    public void Unpark() => Start();

    /// <summary>Stops the thread (after the request it is serving, if any) and closes the eventfds.</summary>
    public void Dispose()
    {
        _stop.Signal();
        _thread?.Join();
        foreach (var (notified, _, _) in _queues)
        {
            notified.Dispose();
        }

        _stop.Dispose();
    }

    /// <summary>Nothing this thread meets may take the host process down (an unhandled exception on a thread would).</summary>
    private void ServeUntilStopped()
    {
        try
        {
            Serve();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "virtio I/O thread stopped by an unexpected failure; the devices' queues are no longer served");
        }
    }

    private unsafe void Serve()
    {
        var fds = new Libc.PollFd[_queues.Count + 1];
        fds[0] = new Libc.PollFd { Fd = _stop.Descriptor, Events = Libc.POLLIN };
        for (var i = 0; i < _queues.Count; i++)
        {
            fds[i + 1] = new Libc.PollFd { Fd = _queues[i].Notified.Descriptor, Events = Libc.POLLIN };
        }

        fixed (Libc.PollFd* polled = fds)
        {
            while (true)
            {
                if (Libc.Poll(polled, (nuint)fds.Length, -1) < 0)
                {
                    // Interrupted: wait again. Anything else would fail on every call: end, rather than spin.
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EINTR)
                    {
                        continue;
                    }

                    throw new IOException($"poll failed: {Libc.ErrorText(errno)}");
                }

                // Notifications first, then the stop: a pause parks the thread after it served every notification the
                // guest made before its vCPUs were out, so a checkpoint holds no request waiting for a notify.
                for (var i = 0; i < _queues.Count; i++)
                {
                    if (fds[i + 1].ReturnedEvents != 0)
                    {
                        var (notified, transport, queue) = _queues[i];
                        // Drained first: a notify that lands while the queue is served signals again, and is looked at.
                        notified.Drain();
                        transport.ServeNotification(queue);
                    }
                }

                if (fds[0].ReturnedEvents != 0)
                {
                    return;
                }
            }
        }
    }
}
