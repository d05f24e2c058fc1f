using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Kvm;

/// <summary>A file descriptor from /dev/kvm (system, VM or vCPU), closed exactly once.</summary>
internal sealed class KvmFileDescriptor : SafeHandle
{
    public KvmFileDescriptor(int fd) : base(-1, ownsHandle: true)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle < 0;

    internal int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;

    /// <summary>ioctl with an integer argument; on failure throws <see cref="KvmException.ForErrno"/>'s exception naming the call.</summary>
    internal int Ioctl(nuint request, nint argument, string name)
    {
        var added = false;
        DangerousAddRef(ref added);
        try
        {
            var result = Libc.Ioctl(Fd, request, argument);
            return result >= 0 ? result : throw KvmException.ForErrno(name, Marshal.GetLastPInvokeError());
        }
        finally
        {
            DangerousRelease();
        }
    }

    /// <summary>ioctl with a pointer argument.</summary>
    internal unsafe int Ioctl(nuint request, void* argument, string name) => Ioctl(request, (nint)argument, name);
}
