namespace PvhVm.Core.Kvm;

/// <summary>What one KVM_RUN ended with, decoded (kvm-ioctls' <c>VcpuExit</c> variants that x86 guests produce).</summary>
internal enum VcpuExitKind
{
    /// <summary>KVM_RUN returned EINTR/EAGAIN: a signal or immediate_exit took the thread out; no exit happened.</summary>
    Interrupted,
    /// <summary>A port write: <see cref="VcpuExit.Port"/>, <see cref="VcpuExit.Data"/> holds what the guest wrote.</summary>
    IoOut,
    /// <summary>A port read: fill <see cref="VcpuExit.Data"/>; the guest receives it on the next KVM_RUN.</summary>
    IoIn,
    /// <summary>A read outside every memory slot: fill <see cref="VcpuExit.Data"/>; the guest receives it on the next KVM_RUN.</summary>
    MmioRead,
    /// <summary>A write outside every memory slot: <see cref="VcpuExit.Data"/> holds what the guest wrote.</summary>
    MmioWrite,
    /// <summary>KVM_EXIT_HLT: a <c>hlt</c> not handled by the in-kernel irqchip.</summary>
    Halt,
    /// <summary>KVM_EXIT_SHUTDOWN: the guest triple-faulted.</summary>
    Shutdown,
    /// <summary>KVM_EXIT_SYSTEM_EVENT: <see cref="VcpuExit.SystemEventType"/> (shutdown, reset, crash...).</summary>
    SystemEvent,
    /// <summary>KVM_EXIT_INTERNAL_ERROR: <see cref="VcpuExit.Suberror"/>, <see cref="VcpuExit.InternalErrorData"/>.</summary>
    InternalError,
    /// <summary>KVM_EXIT_FAIL_ENTRY: the hardware refused to enter the guest (<see cref="VcpuExit.HardwareEntryFailureReason"/>).</summary>
    FailEntry,
    /// <summary>KVM_EXIT_INTR: a pending signal ended the run after the guest had entered.</summary>
    Intr,
    /// <summary>KVM_EXIT_IRQ_WINDOW_OPEN: the guest can take an interrupt now.</summary>
    IrqWindowOpen,
    /// <summary>Any other exit reason, in <see cref="VcpuExit.Reason"/>.</summary>
    Unknown,
}
