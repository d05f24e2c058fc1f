namespace PvhVm.Core.Kvm;

/// <summary>ioctl request numbers from linux/kvm.h (x86-64), computed as the _IO/_IOR/_IOW/_IOWR macros do.</summary>
internal static class KvmIoctls
{
    private const uint KvmIo = 0xAE;

    public static readonly nuint GetApiVersion = Io(0x00);
    public static readonly nuint CreateVm = Io(0x01);
    public static readonly nuint CheckExtension = Io(0x03);
    public static readonly nuint GetVcpuMmapSize = Io(0x04);
    public static readonly nuint GetSupportedCpuid = IoWR(0x05, 8);
    public static readonly nuint CreateVcpu = Io(0x41);
    public static readonly nuint SetUserMemoryRegion = IoW(0x46, 32);
    public static readonly nuint SetTssAddr = Io(0x47);
    public static readonly nuint SetIdentityMapAddr = IoW(0x48, 8);
    public static readonly nuint CreateIrqchip = Io(0x60);
    public static readonly nuint IrqLine = IoW(0x61, 8);
    public static readonly nuint Irqfd = IoW(0x76, 32);
    public static readonly nuint CreatePit2 = IoW(0x77, 64);
    public static readonly nuint Ioeventfd = IoW(0x79, 64);
    public static readonly nuint Run = Io(0x80);
    public static readonly nuint GetRegs = IoR(0x81, 144);
    public static readonly nuint SetRegs = IoW(0x82, 144);
    public static readonly nuint GetSregs = IoR(0x83, 312);
    public static readonly nuint SetSregs = IoW(0x84, 312);
    public static readonly nuint SetMsrs = IoW(0x89, 8);
    public static readonly nuint SetCpuid2 = IoW(0x90, 8);
    public static readonly nuint GetMpState = IoR(0x98, 4);

    // Pause, checkpoint and restore: the state KVM keeps for a VM and its vCPUs.
    public static readonly nuint GetMsrIndexList = IoWR(0x02, 4);
    public static readonly nuint GetIrqchip = IoWR(0x62, 520);
    public static readonly nuint SetIrqchip = IoR(0x63, 520);
    public static readonly nuint SetClock = IoW(0x7b, 48);
    public static readonly nuint GetClock = IoR(0x7c, 48);
    public static readonly nuint GetMsrs = IoWR(0x88, 8);
    public static readonly nuint GetFpu = IoR(0x8c, 416);
    public static readonly nuint SetFpu = IoW(0x8d, 416);
    public static readonly nuint GetLapic = IoR(0x8e, 1024);
    public static readonly nuint SetLapic = IoW(0x8f, 1024);
    public static readonly nuint GetCpuid2 = IoWR(0x91, 8);
    public static readonly nuint SetMpState = IoW(0x99, 4);
    public static readonly nuint GetVcpuEvents = IoR(0x9f, 64);
    public static readonly nuint SetVcpuEvents = IoW(0xa0, 64);
    public static readonly nuint GetDebugRegs = IoR(0xa1, 128);
    public static readonly nuint SetDebugRegs = IoW(0xa2, 128);
    public static readonly nuint GetXsave = IoR(0xa4, 4096);
    public static readonly nuint SetXsave = IoW(0xa5, 4096);
    public static readonly nuint GetXcrs = IoR(0xa6, 392);
    public static readonly nuint SetXcrs = IoW(0xa7, 392);

    private static nuint Io(uint nr) => Encode(0, nr, 0);

    private static nuint IoR(uint nr, uint size) => Encode(2, nr, size);

    private static nuint IoW(uint nr, uint size) => Encode(1, nr, size);

    private static nuint IoWR(uint nr, uint size) => Encode(3, nr, size);

    private static nuint Encode(uint direction, uint nr, uint size) => (direction << 30) | (size << 16) | (KvmIo << 8) | nr;
}
