using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Kvm;

/// <summary>A vCPU file descriptor and its mmap'd kvm_run: registers, CPUID, MSRs, and KVM_RUN.</summary>
public sealed unsafe class KvmVcpu : IDisposable
{
    public const uint MpStateRunnable = 0;
    public const uint MpStateUninitialized = 1;
    public const uint MpStateInitReceived = 2;
    public const uint MpStateHalted = 3;
    public const uint MpStateSipiReceived = 4;

    private readonly KvmFileDescriptor _fd;
    private readonly byte* _run;
    private readonly int _runSize;
    private int _disposed;

    internal KvmVcpu(KvmFileDescriptor fd, int index, int runSize)
    {
        _fd = fd;
        Index = index;
        _runSize = runSize;
        var run = Libc.Mmap(0, (nuint)runSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd.Fd, 0);
        if (run == Libc.MAP_FAILED)
        {
            var errno = Marshal.GetLastPInvokeError();
            fd.Dispose();
            throw new KvmException("mmap kvm_run", errno);
        }

        _run = (byte*)run;
    }

    public int Index { get; }

    public KvmExitReasonCode ExitReason => (KvmExitReasonCode)(*(uint*)(_run + KvmRunLayout.ExitReason));

    /// <summary>kvm_run.immediate_exit: when set, KVM_RUN returns EINTR at once (used to stop a vCPU).</summary>
    public bool ImmediateExit
    {
        get => Volatile.Read(ref _run[KvmRunLayout.ImmediateExit]) != 0;
        set => Volatile.Write(ref _run[KvmRunLayout.ImmediateExit], value ? (byte)1 : (byte)0);
    }

    /// <summary>The raw kvm_run page; valid while the vCPU lives. Exit decoding reads fields at <see cref="KvmRunLayout"/> offsets.</summary>
    internal byte* RunData => _run;

    internal int RunSize => _runSize;

    /// <summary>Enters the guest until the next exit. Returns false when interrupted by a signal (EINTR/EAGAIN).</summary>
    public bool Run()
    {
        // A reference for the whole call: a descriptor closed under a running vCPU could be reused by another file.
        var added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            if (Libc.Ioctl(_fd.Fd, KvmIoctls.Run, 0) >= 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            return errno is Libc.EINTR or Libc.EAGAIN ? false : throw new KvmException("KVM_RUN", errno);
        }
        finally
        {
            _fd.DangerousRelease();
        }
    }

    public KvmRegs GetRegs() => Get<KvmRegs>(KvmIoctls.GetRegs, "KVM_GET_REGS");

    public void SetRegs(in KvmRegs regs) => Set(KvmIoctls.SetRegs, regs, "KVM_SET_REGS");

    public KvmSregs GetSregs() => Get<KvmSregs>(KvmIoctls.GetSregs, "KVM_GET_SREGS");

    public void SetSregs(in KvmSregs sregs) => Set(KvmIoctls.SetSregs, sregs, "KVM_SET_SREGS");

    public uint GetMpState() => Get<uint>(KvmIoctls.GetMpState, "KVM_GET_MP_STATE");

    public void SetCpuid(ReadOnlySpan<KvmCpuidEntry2> entries) => IoctlWithEntries(KvmIoctls.SetCpuid2, entries, "KVM_SET_CPUID2");

    /// <summary>KVM_SET_MSRS; throws unless every entry was accepted.</summary>
    public void SetMsrs(ReadOnlySpan<KvmMsrEntry> entries)
    {
        var accepted = IoctlWithEntries(KvmIoctls.SetMsrs, entries, "KVM_SET_MSRS");
        if (accepted != entries.Length)
        {
            throw new KvmException("KVM_SET_MSRS", 0, $"MSR 0x{entries[accepted].Index:x} was refused");
        }
    }

    private T Get<T>(nuint request, string name)
        where T : unmanaged
    {
        T value;
        _fd.Ioctl(request, &value, name);
        return value;
    }

    private void Set<T>(nuint request, in T value, string name)
        where T : unmanaged
    {
        fixed (T* pointer = &value)
        {
            _fd.Ioctl(request, pointer, name);
        }
    }

    /// <summary>For the ioctls that take an 8-byte {count, padding} header followed by an array.</summary>
    private int IoctlWithEntries<T>(nuint request, ReadOnlySpan<T> entries, string name)
        where T : unmanaged
    {
        var size = 8 + (entries.Length * sizeof(T));
        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            *(uint*)buffer = (uint)entries.Length;
            entries.CopyTo(new Span<T>(buffer + 8, entries.Length));
            return _fd.Ioctl(request, buffer, name);
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _ = Libc.Munmap((nint)_run, (nuint)_runSize);
        _fd.Dispose();
    }
}
