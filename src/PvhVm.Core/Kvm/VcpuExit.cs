using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>
/// One KVM_RUN's exit, decoded from kvm_run by <see cref="KvmVcpu.Run"/>, like kvm-ioctls' <c>VcpuExit</c>.
/// A ref struct: <see cref="Data"/> is a view of the vCPU's kvm_run page, valid until the next run, and writing
/// it is how an IN or an MMIO read is answered. Nothing is allocated per exit.
/// </summary>
internal readonly ref struct VcpuExit
{
    private const uint EmulationFailure = 1;
    private const int MaxInstructionLength = 15;

    // One general field per shape keeps the struct small: a port, an address, a failure reason or an event type.
    private readonly ulong _value;
    private readonly uint _detail;
    private readonly Span<byte> _data;

    private VcpuExit(VcpuExitKind kind, KvmExitReasonCode reason, ulong value, uint detail, Span<byte> data)
    {
        Kind = kind;
        Reason = reason;
        _value = value;
        _detail = detail;
        _data = data;
    }

    public VcpuExitKind Kind { get; }

    /// <summary>kvm_run.exit_reason as KVM reported it (meaningless for <see cref="VcpuExitKind.Interrupted"/>).</summary>
    public KvmExitReasonCode Reason { get; }

    /// <summary>The I/O port of an IoIn/IoOut exit.</summary>
    public ushort Port => (ushort)_value;

    /// <summary>Bytes per port access (1, 2 or 4); <see cref="Data"/> holds several for a string instruction (<c>rep ins/outs</c>).</summary>
    public int AccessSize => (int)_detail;

    /// <summary>The guest-physical address of an MmioRead/MmioWrite exit.</summary>
    public ulong Address => _value;

    /// <summary>
    /// The bytes of an I/O or MMIO access: what the guest wrote, or where the answer to a read goes. Empty for other exits.
    /// </summary>
    public Span<byte> Data => Kind is VcpuExitKind.IoIn or VcpuExitKind.IoOut or VcpuExitKind.MmioRead or VcpuExitKind.MmioWrite ? _data : [];

    /// <summary>KVM_SYSTEM_EVENT_* of a SystemEvent exit (1 shutdown, 2 reset, 3 crash...).</summary>
    public uint SystemEventType => _detail;

    /// <summary>The architecture-specific flags of a SystemEvent exit (data[0]).</summary>
    public ulong SystemEventFlags => Kind == VcpuExitKind.SystemEvent && _data.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(_data) : 0;

    /// <summary>KVM_INTERNAL_ERROR_* of an InternalError exit (1 emulation failure, 2 simultaneous exceptions...).</summary>
    public uint Suberror => _detail;

    /// <summary>The data words KVM attached to an InternalError exit.</summary>
    public ReadOnlySpan<ulong> InternalErrorData => Kind == VcpuExitKind.InternalError ? MemoryMarshal.Cast<byte, ulong>(_data) : [];

    /// <summary>The instruction bytes KVM could not emulate, when it reported them; otherwise empty.</summary>
    public ReadOnlySpan<byte> EmulatedInstruction
    {
        get
        {
            // emulation_failure overlays the data words, which _data views from KvmRunLayout.InternalData on.
            const int flags = KvmRunLayout.EmulationFlags - KvmRunLayout.InternalData;
            const int size = KvmRunLayout.EmulationInsnSize - KvmRunLayout.InternalData;
            const int bytes = KvmRunLayout.EmulationInsnBytes - KvmRunLayout.InternalData;
            if (Kind != VcpuExitKind.InternalError || Suberror != EmulationFailure || _data.Length < bytes + MaxInstructionLength
                || (BinaryPrimitives.ReadUInt64LittleEndian(_data[flags..]) & KvmRunLayout.EmulationFlagInstructionBytes) == 0)
            {
                return [];
            }

            return _data.Slice(bytes, Math.Min((int)_data[size], MaxInstructionLength));
        }
    }

    /// <summary>hardware_entry_failure_reason of a FailEntry exit.</summary>
    public ulong HardwareEntryFailureReason => _value;

    /// <summary>The host CPU a FailEntry exit happened on.</summary>
    public uint FailEntryCpu => _detail;

    internal static VcpuExit Interrupted => default;

    internal static VcpuExit Io(bool output, ushort port, int accessSize, Span<byte> data)
        => new(output ? VcpuExitKind.IoOut : VcpuExitKind.IoIn, KvmExitReasonCode.Io, port, (uint)accessSize, data);

    internal static VcpuExit Mmio(bool isWrite, ulong address, Span<byte> data)
        => new(isWrite ? VcpuExitKind.MmioWrite : VcpuExitKind.MmioRead, KvmExitReasonCode.Mmio, address, 0, data);

    internal static VcpuExit SystemEvent(uint type, Span<byte> data)
        => new(VcpuExitKind.SystemEvent, KvmExitReasonCode.SystemEvent, 0, type, data);

    internal static VcpuExit InternalError(uint suberror, Span<byte> data)
        => new(VcpuExitKind.InternalError, KvmExitReasonCode.InternalError, 0, suberror, data);

    internal static VcpuExit FailEntry(ulong reason, uint cpu)
        => new(VcpuExitKind.FailEntry, KvmExitReasonCode.FailEntry, reason, cpu, []);

    /// <summary>An exit with nothing to decode beyond its reason.</summary>
    internal static VcpuExit Simple(VcpuExitKind kind, KvmExitReasonCode reason) => new(kind, reason, 0, 0, []);
}
