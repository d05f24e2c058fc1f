using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Control;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;

namespace PvhVm.Host;

/// <summary>
/// The one VM of this host process and its folder: the state file is rewritten at every change the host makes or sees
/// (so a client can still read the last state once the host is gone), and the console goes to a bounded file.
/// </summary>
internal sealed class HostedVm : IDisposable
{
    private readonly object _stateGate = new();
    private readonly object _stopGate = new();
    private readonly long _processStartTicks;
    private Thread? _consoleWriter;
    private bool _deleted;

    public HostedVm(VmFolder folder, VirtualMachine vm)
    {
        Folder = folder;
        Vm = vm;
        _processStartTicks = ProcessStartTime.Of(Environment.ProcessId)!.Value;
        vm.Exited += (_, _) => SaveState();
    }

    public VmFolder Folder { get; }

    public VirtualMachine Vm { get; }

    /// <summary>The host's log (host.log in the folder), for what the host itself does with its VM.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;

    public VmDescription Describe() => new(
        Vm.Name,
        Vm.Id,
        Environment.ProcessId,
        _processStartTicks,
        Vm.Config,
        Vm.Status,
        Vm.Console.TotalLines,
        Vm.Console.DroppedLines,
        Vm.UnhandledPortAccesses,
        Vm.UnhandledMmioAccesses);

    /// <summary>Starts the VM, and with it the console's copy to disk.</summary>
    public void Start()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            Vm.Start();
            Log.LogInformation("pvhvm-host {ProcessId}: VM '{Name}' started in {Milliseconds:0.0} ms", Environment.ProcessId, Vm.Name,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        finally
        {
            SaveState();
        }

        _consoleWriter = new Thread(() => ConsoleFile.Follow(Vm.Console, Folder)) { IsBackground = true, Name = "console file" };
        _consoleWriter.Start();
    }

    /// <summary>
    /// Stops the running VM. Stops are taken one at a time: of two clients that stop the VM at once, one stops it and
    /// the other is refused (InvalidOperation, 409) rather than told it stopped a VM that someone else stopped.
    /// </summary>
    public void Stop()
    {
        lock (_stopGate)
        {
            if (!Vm.State.IsActive())
            {
                throw new InvalidOperationException($"VM '{Vm.Name}' is not running: it is {Vm.State}{(Vm.ExitReason is { } reason ? $" ({reason})" : "")}.");
            }

            Vm.Stop();
        }

        SaveState();
    }

    /// <summary>The VM restore.json asks for: Created, and resumed from its checkpoint when started.</summary>
    public static VirtualMachine Restore(VmFolder folder, ILogger log)
    {
        var request = JsonSerializer.Deserialize(File.ReadAllBytes(folder.RestorePath), ControlJson.Default.RestoreRequest)
            ?? throw new InvalidDataException($"{folder.RestorePath} holds no restore request.");
        // The one VM of this process: its KVM VM is prepared while the state is read, and no spare after it (a second
        // KVM VM and RAM slot that this host would never use).
        var checkpoint = Checkpoint.Read(request.CheckpointPath);
        VirtualMachine.PrepareAhead((int)(checkpoint.MemoryBytes >> 20), refillAfterStart: false);
        return VirtualMachine.Restore(checkpoint, new CheckpointRestoreOptions
        {
            Name = request.Name,
            DiskPaths = request.DiskPaths,
            TapNames = request.TapNames,
            MacAddresses = request.MacAddresses,
            VsockCid = request.VsockCid,
        }, log);
    }

    /// <summary>Pauses the running VM; the state file says Paused, so every client sees it.</summary>
    public void Suspend() => Change(vm => { vm.Suspend(); return true; });

    public void Resume() => Change(vm => { vm.Resume(); return true; });

    /// <summary>A change to the VM's devices before it starts, recorded in the state file (its config changed).</summary>
    public T Change<T>(Func<VirtualMachine, T> change)
    {
        var result = change(Vm);
        SaveState();
        return result;
    }

    public void SaveState()
    {
        lock (_stateGate)
        {
            if (_deleted)
            {
                return;
            }

            try
            {
                Folder.WriteState(Describe());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk or a folder removed from outside: the live state is still served over the socket.
            }
        }
    }

    /// <summary>
    /// Ends the VM for DELETE /vm and returns once nothing writes into the folder any more (no state file after this, and
    /// the console writer has flushed its last line), so the folder can be removed.
    /// </summary>
    public void Dispose()
    {
        lock (_stateGate)
        {
            _deleted = true;
        }

        Vm.Dispose();
        _consoleWriter?.Join(TimeSpan.FromSeconds(5));
    }
}
