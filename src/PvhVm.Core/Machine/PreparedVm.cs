using PvhVm.Core.Boot;
using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Machine;

/// <summary>
/// A KVM VM with its irqchip and its guest RAM registered, never run: the part of a start that costs host
/// time (the memory-slot ioctl alone is several milliseconds on a nested host) and does not depend on the guest.
/// </summary>
internal sealed class PreparedVm : IDisposable
{
    private PreparedVm(KvmSystem system, KvmVm vm, GuestMemory memory)
    {
        System = system;
        Vm = vm;
        Memory = memory;
    }

    public KvmSystem System { get; }

    public KvmVm Vm { get; }

    public GuestMemory Memory { get; }

    public static PreparedVm Create(ulong ramSize)
    {
        KvmSystem? system = null;
        KvmVm? vm = null;
        GuestMemory? memory = null;
        try
        {
            system = KvmSystem.Open();
            vm = system.CreateVm();
            vm.SetTssAddress(Layout.TssAddress);
            vm.SetIdentityMapAddress(Layout.IdentityMapAddress);
            // No PIT: creating one costs a kernel thread (~3 ms here) and a PVH Linux keeps time with
            // kvm-clock and the TSC-deadline LAPIC timer, as on cloud-hypervisor, which has no PIT either.
            vm.CreateIrqchip();
            memory = GuestMemory.Allocate(ramSize);
            for (var slot = 0; slot < memory.Regions.Count; slot++)
            {
                var region = memory.Regions[slot];
                vm.SetUserMemoryRegion((uint)slot, region.GuestAddress, region.Size, region.HostAddress);
            }

            return new PreparedVm(system, vm, memory);
        }
        catch
        {
            memory?.Dispose();
            vm?.Dispose();
            system?.Dispose();
            throw;
        }
    }

    /// <summary>The VM before its RAM: unmapping RAM under a live VM makes KVM invalidate the mappings page by page.</summary>
    public void Dispose()
    {
        Vm.Dispose();
        System.Dispose();
        Memory.Dispose();
    }
}
