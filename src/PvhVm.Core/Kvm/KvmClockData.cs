using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_clock_data (48 bytes): the VM's kvm-clock in nanoseconds (KVM_GET_CLOCK / KVM_SET_CLOCK).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmClockData
{
    public ulong Clock;
    public uint Flags;
    private uint _pad0;
    public ulong Realtime;
    public ulong HostTsc;
    private fixed uint _pad[4];
}
