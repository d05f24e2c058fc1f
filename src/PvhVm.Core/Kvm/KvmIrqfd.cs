using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_irqfd (32 bytes): a write to the eventfd <see cref="Fd"/> pulses <see cref="Gsi"/> (an edge, without a resample fd).</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal struct KvmIrqfd
{
    public uint Fd;
    public uint Gsi;
    public uint Flags;
    public uint ResampleFd;
}
