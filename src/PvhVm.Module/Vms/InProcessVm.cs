using PvhVm.Core.Boot;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Kernel;
using PvhVm.Core.Machine;
using PvhVm.Module.Logging;

namespace PvhVm.Module.Vms;

/// <summary>A VM whose engine runs in this pwsh process (New-PvhVm -InProcess), registered in <see cref="VmRegistry"/>.</summary>
public sealed class InProcessVm : VmHandle
{
    private readonly object _stopGate = new();

    internal InProcessVm(VirtualMachine vm, VmLogQueue log)
    {
        Vm = vm;
        Log = log;
    }

    internal VirtualMachine Vm { get; }

    internal VmLogQueue Log { get; }

    internal override IEnumerable<LogEntry> TakeLog() => Log.Drain();

    public override string Name => Vm.Name;

    public override Guid Id => Vm.Id;

    public override VmHosting Hosting => VmHosting.InProcess;

    public override int? HostProcessId => null;

    public override VmConfig Config => Vm.Config;

    public override VmStatus Status => Vm.Status;

    public override BootInfo BootInfo => Vm.BootInfo;

    public override long ConsoleLineCount => Vm.Console.TotalLines;

    public override long DroppedConsoleLines => Vm.Console.DroppedLines;

    internal override bool Exists => VmRegistry.Find(this) is not null;


    internal override void Start() => Vm.Start();

    /// <summary>One stop at a time, as a host process takes them: of two runspaces stopping it at once, the second is refused.</summary>
    internal override void Stop()
    {
        lock (_stopGate)
        {
            if (!Vm.State.IsActive())
            {
                throw new InvalidOperationException($"VM '{Name}' is not running: it is {Vm.State}{(Vm.ExitReason is { } reason ? $" ({reason})" : "")}.");
            }

            Vm.Stop();
        }
    }

    internal override bool WaitForExit(TimeSpan timeout, CancellationToken cancellationToken) => Vm.WaitForExit(timeout, cancellationToken);

    internal override ConsoleRead ReadConsole(long after, int? tail, TimeSpan wait, CancellationToken cancellationToken)
    {
        var console = Vm.Console;
        if (wait > TimeSpan.Zero)
        {
            console.WaitForLinesAfter(after, wait, cancellationToken);
        }

        // Completion is read first: a log that was complete before the read holds every line there will be.
        var completed = console.IsCompleted;
        var lines = tail is { } count ? console.Tail(count).Where(line => line.Sequence > after).ToList() : console.ReadAfter(after);
        return new ConsoleRead(lines, completed);
    }

    internal override int SendConsole(byte[] bytes) => Vm.SendConsole(bytes);

    internal override (IReadOnlyList<LayoutRegion> Regions, IReadOnlyList<E820Entry> E820) MemoryLayout() => (Vm.MemoryMap, Vm.E820Map);

    internal override IReadOnlyList<VmDisk> GetDisks() => Vm.GetDisks();

    internal override VmDisk AddDisk(DiskConfig disk) => Vm.AddDisk(disk);

    internal override bool RemoveDisk(string guestName) => Vm.RemoveDisk(guestName);

    internal override IReadOnlyList<VmNetworkAdapter> GetNetworkAdapters() => Vm.GetNetworkAdapters();

    internal override VmNetworkAdapter AddNetworkAdapter(NetworkAdapterConfig adapter) => Vm.AddNetworkAdapter(adapter);

    internal override bool RemoveNetworkAdapter(string tapName) => Vm.RemoveNetworkAdapter(tapName);

    internal override void Suspend() => Vm.Suspend();

    internal override void Resume() => Vm.Resume();

    internal override Checkpoint CreateCheckpoint(string folder) => Vm.CreateCheckpoint(folder);

    internal override bool Remove()
    {
        if (!VmRegistry.Remove(this))
        {
            return false;
        }

        Vm.Dispose();
        return true;
    }
}
