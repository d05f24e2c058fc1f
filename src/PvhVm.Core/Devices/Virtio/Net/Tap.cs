using System.Runtime.InteropServices;
using System.Text;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Devices.Virtio.Net;

/// <summary>
/// One queue of a Linux tap interface (IFF_TAP | IFF_NO_PI: whole Ethernet frames, no packet-information prefix, no
/// virtio-net header since no offload is offered). TUNSETIFF attaches to the tap of that name when one exists
/// (a persistent tap an administrator made with `ip tuntap add`), and otherwise creates it; a tap created here is not
/// persistent, so the kernel removes it when this descriptor closes — it lives exactly as long as the device. The
/// descriptor is non-blocking: a write to a full tap fails with EAGAIN instead of stalling a vCPU thread.
/// </summary>
internal sealed class Tap : IDisposable
{
    /// <summary>IFNAMSIZ less the terminating NUL.</summary>
    public const int MaxNameLength = 15;

    private const nuint TunSetIff = 0x400454ca;
    private const short IffTap = 0x0002;
    private const short IffNoPi = 0x1000;
    private const int IfReqSize = 40;

    private int _fd;

    private Tap(string name, int fd)
    {
        Name = name;
        _fd = fd;
    }

    public string Name { get; }

    public int Descriptor => _fd;

    /// <summary>Attaches to or creates tap <paramref name="name"/>; throws <see cref="TapException"/> saying why not.</summary>
    public static unsafe Tap Open(string name)
    {
        CheckName(name);

        var fd = Libc.Open("/dev/net/tun", Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_NONBLOCK);
        if (fd < 0)
        {
            throw new TapException(TapProblem.Unavailable, name, $"cannot open /dev/net/tun: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        var request = stackalloc byte[IfReqSize];
        new Span<byte>(request, IfReqSize).Clear();
        Encoding.ASCII.GetBytes(name, new Span<byte>(request, MaxNameLength));
        *(short*)(request + 16) = IffTap | IffNoPi;
        if (Libc.Ioctl(fd, TunSetIff, request) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Libc.Close(fd);
            throw new TapException(TapProblem.Unavailable, name, $"TUNSETIFF failed: {Libc.ErrorText(errno)} (a tap needs CAP_NET_ADMIN, or to be made for this user)");
        }

        return new Tap(name, fd);
    }

    /// <summary>Whether Linux would take <paramref name="name"/> for an interface.</summary>
    public static bool IsValidName(string name) => name.Length is > 0 and <= MaxNameLength && !name.Any(c => c is <= ' ' or > '~' or '/' or ':');

    /// <summary>Throws <see cref="TapException"/> (InvalidName) unless Linux would take <paramref name="name"/> for an interface.</summary>
    public static void CheckName(string name)
    {
        if (!IsValidName(name))
        {
            throw new TapException(TapProblem.InvalidName, name, $"a tap name is 1 to {MaxNameLength} printable ASCII characters without spaces, '/' or ':'");
        }
    }

    /// <summary>Reads one frame; returns its length, 0 when none is waiting, or -errno when the tap failed (EBADFD: deleted).</summary>
    public unsafe int Read(Span<byte> frame)
    {
        fixed (byte* buffer = frame)
        {
            var read = Libc.Read(_fd, buffer, (nuint)frame.Length);
            return read >= 0 ? (int)read : Failure() is var failure && failure == -Libc.EAGAIN ? 0 : failure;
        }
    }

    /// <summary>Writes one frame; returns its length, -EAGAIN when the tap's queue is full, or another -errno.</summary>
    public unsafe int Write(ReadOnlySpan<byte> frame)
    {
        fixed (byte* buffer = frame)
        {
            var written = Libc.Write(_fd, buffer, (nuint)frame.Length);
            return written >= 0 ? (int)written : Failure();
        }
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Libc.Close(fd);
        }
    }

    private static int Failure()
    {
        return -Marshal.GetLastPInvokeError();
    }
}
