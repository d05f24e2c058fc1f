using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Kvm;

/// <summary>A vCPU file descriptor and its mmap'd kvm_run: registers, CPUID, MSRs, and KVM_RUN.</summary>
internal sealed unsafe partial class KvmVcpu : IDisposable
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

    /// <summary>kvm_run.immediate_exit: when set, KVM_RUN returns EINTR at once (used to stop a vCPU).</summary>
    public bool ImmediateExit
    {
        get => Volatile.Read(ref _run[KvmRunLayout.ImmediateExit]) != 0;
        set => Volatile.Write(ref _run[KvmRunLayout.ImmediateExit], value ? (byte)1 : (byte)0);
    }

    /// <summary>
    /// Enters the guest until the next exit and decodes it; <see cref="VcpuExitKind.Interrupted"/> when a signal or
    /// immediate_exit took the thread out first (EINTR/EAGAIN). The exit's data views kvm_run until the next call.
    /// </summary>
    public VcpuExit Run()
    {
        // A reference for the whole call: a descriptor closed under a running vCPU could be reused by another file.
        var added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            if (Libc.Ioctl(_fd.Fd, KvmIoctls.Run, 0) >= 0)
            {
                return DecodeExit();
            }

            var errno = Marshal.GetLastPInvokeError();
            return errno is Libc.EINTR or Libc.EAGAIN ? VcpuExit.Interrupted : throw new KvmException("KVM_RUN", errno);
        }
        finally
        {
            _fd.DangerousRelease();
        }
    }

    private VcpuExit DecodeExit()
    {
        var reason = (KvmExitReasonCode)(*(uint*)(_run + KvmRunLayout.ExitReason));
        switch (reason)
        {
            case KvmExitReasonCode.Io:
                return DecodeIo();
            case KvmExitReasonCode.Mmio:
                var length = (int)Math.Min(*(uint*)(_run + KvmRunLayout.MmioLength), KvmRunLayout.MmioDataCapacity);
                return VcpuExit.Mmio(_run[KvmRunLayout.MmioIsWrite] != 0, *(ulong*)(_run + KvmRunLayout.MmioPhysAddr),
                    new Span<byte>(_run + KvmRunLayout.MmioData, length));
            case KvmExitReasonCode.Hlt:
                return VcpuExit.Simple(VcpuExitKind.Halt, reason);
            case KvmExitReasonCode.Shutdown:
                return VcpuExit.Simple(VcpuExitKind.Shutdown, reason);
            case KvmExitReasonCode.Intr:
                return VcpuExit.Simple(VcpuExitKind.Intr, reason);
            case KvmExitReasonCode.IrqWindowOpen:
                return VcpuExit.Simple(VcpuExitKind.IrqWindowOpen, reason);
            case KvmExitReasonCode.SystemEvent:
                // Kernels before 5.18 leave ndata zero and still carry one word, the flags.
                var words = Math.Clamp(*(uint*)(_run + KvmRunLayout.SystemEventNdata), 1u, KvmRunLayout.MaxDataWords);
                return VcpuExit.SystemEvent(*(uint*)(_run + KvmRunLayout.SystemEventType), DataWords(KvmRunLayout.SystemEventData, words));
            case KvmExitReasonCode.InternalError:
                var ndata = Math.Min(*(uint*)(_run + KvmRunLayout.InternalNdata), KvmRunLayout.MaxDataWords);
                return VcpuExit.InternalError(*(uint*)(_run + KvmRunLayout.InternalSuberror), DataWords(KvmRunLayout.InternalData, ndata));
            case KvmExitReasonCode.FailEntry:
                return VcpuExit.FailEntry(*(ulong*)(_run + KvmRunLayout.FailEntryReason), *(uint*)(_run + KvmRunLayout.FailEntryCpu));
            default:
                return VcpuExit.Simple(VcpuExitKind.Unknown, reason);
        }
    }

    private VcpuExit DecodeIo()
    {
        var size = (int)_run[KvmRunLayout.IoSize];
        var port = *(ushort*)(_run + KvmRunLayout.IoPort);
        var count = *(uint*)(_run + KvmRunLayout.IoCount);
        var offset = *(ulong*)(_run + KvmRunLayout.IoDataOffset);
        var total = (ulong)size * count;
        // The data lives inside the kvm_run mapping; a kernel bug must not make us read or write past it.
        if (size is not (1 or 2 or 4) || offset > (ulong)_runSize || total > (ulong)_runSize - offset)
        {
            throw new KvmException("KVM_EXIT_IO", 0, $"malformed I/O exit (port 0x{port:x}, size {size}, count {count})");
        }

        return VcpuExit.Io(_run[KvmRunLayout.IoDirection] == KvmRunLayout.IoDirectionOut, port, size,
            new Span<byte>(_run + offset, (int)total));
    }

    private Span<byte> DataWords(int offset, uint words) => new(_run + offset, (int)words * sizeof(ulong));

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
