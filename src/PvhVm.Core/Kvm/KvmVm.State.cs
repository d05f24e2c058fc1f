namespace PvhVm.Core.Kvm;

/// <summary>The VM-wide state a pause keeps and a checkpoint saves: kvm-clock and the in-kernel irqchip.</summary>
internal sealed unsafe partial class KvmVm
{
    public KvmClockData GetClock()
    {
        KvmClockData data;
        _fd.Ioctl(KvmIoctls.GetClock, &data, "KVM_GET_CLOCK");
        return data;
    }

    /// <summary>Sets kvm-clock to <paramref name="nanoseconds"/>: the guest's clock goes on from there.</summary>
    public void SetClock(ulong nanoseconds)
    {
        var data = new KvmClockData { Clock = nanoseconds };
        _fd.Ioctl(KvmIoctls.SetClock, &data, "KVM_SET_CLOCK");
    }

    public KvmIrqchip GetIrqchip(uint chipId)
    {
        var chip = new KvmIrqchip { ChipId = chipId };
        _fd.Ioctl(KvmIoctls.GetIrqchip, &chip, "KVM_GET_IRQCHIP");
        return chip;
    }

    public void SetIrqchip(in KvmIrqchip chip)
    {
        fixed (KvmIrqchip* pointer = &chip)
        {
            _fd.Ioctl(KvmIoctls.SetIrqchip, pointer, "KVM_SET_IRQCHIP");
        }
    }
}
