using Microsoft.Extensions.Logging;
using PvhVm.Core.Boot;
using PvhVm.Core.Machine;

namespace PvhVm.Control;

/// <summary>GET /vm: what a host process says about its VM.</summary>
/// <param name="ProcessId">The host process; with <paramref name="ProcessStartTicks"/> it names that process even after its pid is reused.</param>
/// <param name="ProcessStartTicks">Field 22 of /proc/&lt;pid&gt;/stat: the process's start time in clock ticks since boot.</param>
public sealed record VmDescription(
    string Name,
    Guid Id,
    int ProcessId,
    long ProcessStartTicks,
    VmConfig Config,
    VmStatus Status,
    long ConsoleLines,
    long DroppedConsoleLines,
    long UnhandledPortAccesses,
    long UnhandledMmioAccesses);

/// <summary>PUT /vm/actions.</summary>
/// <param name="Action">"start", "stop", "pause" or "resume".</param>
public sealed record VmAction(string Action)
{
    public const string Start = "start";
    public const string Stop = "stop";
    public const string Pause = "pause";
    public const string Resume = "resume";
}

/// <summary>PUT /vm/checkpoint: save the paused VM to a folder (new or empty) on the host's file system.</summary>
/// <param name="Path">The folder, absolute; the host process writes it with its user's rights.</param>
public sealed record CheckpointRequest(string? Path);

/// <summary>The answer to <see cref="CheckpointRequest"/>: the folder written and what it holds.</summary>
public sealed record CheckpointWritten(string Path, long MemoryBytes, long MemoryDataBytes, long SizeOnDisk);

/// <summary>
/// A host process's second way to make its VM (restore.json in its folder instead of config.json): restored from the
/// checkpoint folder <paramref name="CheckpointPath"/> under the name <paramref name="Name"/>, with the identity of its own
/// that Core's CheckpointRestoreOptions describe (empty lists and null: the defaults).
/// </summary>
public sealed record RestoreRequest(string CheckpointPath, string Name)
{
    /// <summary>Per disk, in guest order: the image the VM uses instead of the checkpointed one (resolved, absolute).</summary>
    public IReadOnlyList<string?> DiskPaths { get; init; } = [];

    /// <summary>Per network adapter: the tap it attaches to.</summary>
    public IReadOnlyList<string?> TapNames { get; init; } = [];

    /// <summary>Per network adapter: its MAC.</summary>
    public IReadOnlyList<string?> MacAddresses { get; init; } = [];

    public uint? VsockCid { get; init; }
}

/// <summary>GET /vm/console: console lines after a sequence number.</summary>
/// <param name="Completed">The VM has ended: no line after these will ever come.</param>
public sealed record ConsolePage(IReadOnlyList<ConsoleLine> Lines, bool Completed, long DroppedLines);

/// <summary>PUT /vm/console/input: text typed into the guest's UART.</summary>
public sealed record ConsoleInput(string Text);

/// <summary>The answer to <see cref="ConsoleInput"/>: how many bytes the UART accepted.</summary>
public sealed record ConsoleInputResult(int Accepted);

/// <summary>GET /vm/memory-map: the guest layout and the e820 map handed to the guest; empty before the VM starts.</summary>
public sealed record MemoryMapDocument(IReadOnlyList<LayoutRegion> Regions, IReadOnlyList<E820Entry> E820);

/// <summary>
/// Every 4xx/5xx answer's body. <paramref name="Type"/> is the engine's exception type (KernelImageException,
/// BootException, KvmException, HostResourceException, InvalidOperation, ...) and <paramref name="Kind"/> its kind,
/// so a client reports the same error as the in-process engine would.
/// </summary>
/// <param name="Errno">For a KvmException or HostResourceException, the errno behind it.</param>
/// <param name="Operation">For a KvmException, the operation that failed.</param>
public sealed record ApiError(string Type, string? Kind, string Message, int? Errno = null, string? Operation = null, string? Path = null);

/// <summary>What the host writes on its stdout once: ready (with its description) or why it could not create the VM.</summary>
public sealed record HostReadiness(VmDescription? Vm, ApiError? Error);

/// <summary>One line of the host's log (host.log in its folder): what the engine and the host logged, as it happened.</summary>
public sealed record HostLogEntry(DateTimeOffset Time, LogLevel Level, string Message);
