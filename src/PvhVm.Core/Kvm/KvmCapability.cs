namespace PvhVm.Core.Kvm;

/// <summary>KVM_CAP_* numbers the engine asks about.</summary>
internal enum KvmCapability
{
    Irqchip = 0,
    Hlt = 1,
    UserMemory = 3,
    SetTssAddr = 4,
    ExtCpuid = 7,
    NrVcpus = 9,
    NrMemSlots = 10,
    Irqfd = 32,
    Pit2 = 33,
    Ioeventfd = 36,
    ImmediateExit = 136,
    MaxVcpus = 66,
    SetIdentityMapAddr = 37,
    X2Apic = 38,
}
