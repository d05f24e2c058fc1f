using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>An eventfd a host thread polls beside its data descriptor, so another thread can wake it to stop.</summary>
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

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Libc.Close(fd);
        }
    }
}
