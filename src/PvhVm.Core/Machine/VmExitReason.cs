namespace PvhVm.Core.Machine;

/// <summary>Why a VM stopped running.</summary>
public enum VmExitReason
{
    /// <summary>The guest asked for a reset (i8042 0xFE, or the ACPI reset register); the VM ends.</summary>
    GuestReset,
    /// <summary>Every vCPU halted with interrupts off: nothing can wake it.</summary>
    GuestHalt,
    /// <summary>KVM_EXIT_SHUTDOWN: the guest triple-faulted.</summary>
    TripleFault,
    /// <summary>The host stopped it.</summary>
    Stopped,
    /// <summary>KVM could not go on: internal error, emulation failure, an unexpected exit. See <see cref="VmFault"/>.</summary>
    Fault,
    /// <summary>The VM never ran: Start refused the boot (memory, kernel segments, initrd, KVM). See <see cref="VmFault"/>.</summary>
    BootFailed,
    /// <summary>The guest powered off through ACPI (S5 written to the FADT's sleep control register).</summary>
    PowerOff,
}
