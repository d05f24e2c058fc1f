namespace PvhVm.Core.Kvm;

/// <summary>A VM file descriptor: memory slots, in-kernel irqchip and PIT, IRQ lines, vCPU creation.</summary>
internal sealed partial class KvmVm : IDisposable
{
    private readonly KvmFileDescriptor _fd;
    private readonly KvmSystem _system;

    internal KvmVm(KvmFileDescriptor fd, KvmSystem system)
    {
        _fd = fd;
        _system = system;
    }

    public unsafe void SetUserMemoryRegion(uint slot, ulong guestAddress, ulong size, nint hostAddress)
    {
        var region = new KvmUserspaceMemoryRegion
        {
            Slot = slot,
            GuestPhysAddr = guestAddress,
            MemorySize = size,
            UserspaceAddr = (ulong)hostAddress,
        };
        _fd.Ioctl(KvmIoctls.SetUserMemoryRegion, &region, "KVM_SET_USER_MEMORY_REGION");
    }

    /// <summary>Three pages of guest-physical space KVM needs on Intel hosts; must not overlap RAM.</summary>
    public void SetTssAddress(uint address) => _fd.Ioctl(KvmIoctls.SetTssAddr, (nint)address, "KVM_SET_TSS_ADDR");

    public unsafe void SetIdentityMapAddress(ulong address) => _fd.Ioctl(KvmIoctls.SetIdentityMapAddr, &address, "KVM_SET_IDENTITY_MAP_ADDR");

    /// <summary>In-kernel PIC, I/O APIC and local APICs.</summary>
    public void CreateIrqchip() => _fd.Ioctl(KvmIoctls.CreateIrqchip, 0, "KVM_CREATE_IRQCHIP");

    public unsafe void CreatePit2()
    {
        var config = stackalloc uint[16];
        new Span<uint>(config, 16).Clear();
        _fd.Ioctl(KvmIoctls.CreatePit2, config, "KVM_CREATE_PIT2");
    }

    /// <summary>Drives a GSI of the in-kernel irqchip high or low.</summary>
    public unsafe void SetIrqLine(uint irq, bool high)
    {
        var level = stackalloc uint[2] { irq, high ? 1u : 0u };
        _fd.Ioctl(KvmIoctls.IrqLine, level, "KVM_IRQ_LINE");
    }

    /// <summary>KVM_CHECK_EXTENSION on the VM: what this VM supports (0: no).</summary>
    public int CheckExtension(KvmCapability capability) => _fd.Ioctl(KvmIoctls.CheckExtension, (nint)capability, "KVM_CHECK_EXTENSION");

    /// <summary>
    /// A 4-byte guest write of <paramref name="value"/> to <paramref name="address"/> signals <paramref name="eventFd"/>
    /// inside KVM, without an exit to this process; writes of other values exit as before. Lasts as long as the VM.
    /// </summary>
    public unsafe void AssignIoeventfd(ulong address, uint value, int eventFd)
    {
        var ioeventfd = new KvmIoeventfd { Address = address, Length = 4, Datamatch = value, Fd = eventFd, Flags = KvmIoeventfd.FlagDatamatch };
        _fd.Ioctl(KvmIoctls.Ioeventfd, &ioeventfd, "KVM_IOEVENTFD");
    }

    /// <summary>A write to <paramref name="eventFd"/> pulses <paramref name="gsi"/> (high then low: an edge). Lasts as long as the VM.</summary>
    public unsafe void AssignIrqfd(int eventFd, uint gsi)
    {
        var irqfd = new KvmIrqfd { Fd = (uint)eventFd, Gsi = gsi };
        _fd.Ioctl(KvmIoctls.Irqfd, &irqfd, "KVM_IRQFD");
    }

    public KvmVcpu CreateVcpu(int index)
        => new(new KvmFileDescriptor(_fd.Ioctl(KvmIoctls.CreateVcpu, index, "KVM_CREATE_VCPU")), index, _system.VcpuMmapSize);

    public void Dispose() => _fd.Dispose();
}
