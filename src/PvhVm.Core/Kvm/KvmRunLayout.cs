namespace PvhVm.Core.Kvm;

/// <summary>Byte offsets into the mmap'd struct kvm_run (x86-64) that the engine reads and writes.</summary>
internal static class KvmRunLayout
{
    public const int ImmediateExit = 1;
    public const int ExitReason = 8;

    /// <summary>The exit-information union starts here.</summary>
    public const int Exit = 32;

    // io: { u8 direction; u8 size; u16 port; u32 count; u64 data_offset; }
    public const int IoDirection = Exit + 0;
    public const int IoSize = Exit + 1;
    public const int IoPort = Exit + 2;
    public const int IoCount = Exit + 4;
    public const int IoDataOffset = Exit + 8;

    // mmio: { u64 phys_addr; u8 data[8]; u32 len; u8 is_write; }
    public const int MmioPhysAddr = Exit + 0;
    public const int MmioData = Exit + 8;
    public const int MmioLength = Exit + 16;
    public const int MmioIsWrite = Exit + 20;

    // internal: { u32 suberror; u32 ndata; u64 data[16]; } (emulation_failure overlays the data words)
    public const int InternalSuberror = Exit + 0;
    public const int InternalNdata = Exit + 4;
    public const int InternalData = Exit + 8;

    // emulation_failure (suberror 1): { u32 suberror; u32 ndata; u64 flags; u8 insn_size; u8 insn_bytes[15]; }
    public const int EmulationFlags = Exit + 8;
    public const int EmulationInsnSize = Exit + 16;
    public const int EmulationInsnBytes = Exit + 17;

    /// <summary>KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES: insn_size and insn_bytes are valid.</summary>
    public const ulong EmulationFlagInstructionBytes = 1;

    // fail_entry: { u64 hardware_entry_failure_reason; u32 cpu; }
    public const int FailEntryReason = Exit + 0;
    public const int FailEntryCpu = Exit + 8;

    // system_event: { u32 type; u32 ndata; u64 data[16]; } (before Linux 5.18: { u32 type; u64 flags; }, flags = data[0])
    public const int SystemEventType = Exit + 0;
    public const int SystemEventNdata = Exit + 4;
    public const int SystemEventData = Exit + 8;

    /// <summary>Capacity of the internal and system_event data arrays.</summary>
    public const uint MaxDataWords = 16;

    public const byte IoDirectionOut = 1;

    /// <summary>kvm_run.mmio.data holds at most 8 bytes.</summary>
    public const int MmioDataCapacity = 8;
}
