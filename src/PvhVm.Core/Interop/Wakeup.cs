using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>
/// An eventfd: one side signals it, the other polls it (a host thread woken to stop, a device thread woken by KVM's
/// ioeventfd) or KVM consumes it (an irqfd).
/// </summary>
internal sealed class Wakeup : IDisposable
{
    private int _fd;

    public Wakeup()
    {
        _fd = Libc.Eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_fd < 0)
        {
            throw new InvalidOperationException($"eventfd failed: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        }
    }

    public int Descriptor => _fd;

    public unsafe void Signal()
    {
        ulong one = 1;
        Libc.Write(_fd, (byte*)&one, sizeof(ulong));
    }

    /// <summary>Reads the counter back to zero, so the next poll waits for the next signal.</summary>
    public unsafe void Drain()
    {
        ulong count;
        Libc.Read(_fd, (byte*)&count, sizeof(ulong));
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Libc.Close(fd);
        }
    }
}
