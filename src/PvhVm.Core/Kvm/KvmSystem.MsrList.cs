using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Kvm;

internal sealed partial class KvmSystem
{
    /// <summary>KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores for a guest (its msrs_to_save and emulated MSRs).</summary>
    public unsafe uint[] GetMsrIndexList()
    {
        uint count = 0;
        if (Libc.Ioctl(_fd.Fd, KvmIoctls.GetMsrIndexList, &count) < 0 && Marshal.GetLastPInvokeError() != Libc.E2BIG)
        {
            throw KvmException.ForErrno("KVM_GET_MSR_INDEX_LIST", Marshal.GetLastPInvokeError());
        }

        var buffer = (uint*)NativeMemory.AllocZeroed((nuint)(4 + (count * 4)));
        try
        {
            buffer[0] = count;
            _fd.Ioctl(KvmIoctls.GetMsrIndexList, buffer, "KVM_GET_MSR_INDEX_LIST");
            return new ReadOnlySpan<uint>(buffer + 1, (int)Math.Min(buffer[0], count)).ToArray();
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }
}
