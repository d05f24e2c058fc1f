using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Boot;

namespace PvhVm.Core.Machine;

/// <summary>A PVH virtual machine on /dev/kvm: config, memory, boot, vCPU threads, console, exit.</summary>
public sealed class VirtualMachine : IDisposable
{
    public VirtualMachine(VmConfig config, ILogger? logger = null)
    {
        Config = config;
        throw new NotImplementedException("Machine layer: in progress.");
    }

    public Guid Id { get; } = Guid.NewGuid();

    public VmConfig Config { get; }

    public string Name => Config.Name;

    public VmState State { get; private set; }

    public DateTimeOffset? StartTime { get; private set; }

    public DateTimeOffset? StopTime { get; private set; }

    /// <summary>Running time so far, or from start to exit once stopped.</summary>
    public TimeSpan? Uptime => null;

    public VmExitReason? ExitReason { get; private set; }

    public VmFault? Fault { get; private set; }

    public ConsoleLog Console { get; } = new();

    /// <summary>The guest layout once started; before that, empty.</summary>
    public IReadOnlyList<LayoutRegion> MemoryMap => [];

    /// <summary>Raised once, from an engine thread, when the VM reaches Stopped or Failed.</summary>
    public event EventHandler? Exited { add { } remove { } }

    /// <summary>Builds memory, loads the kernel and starts the vCPUs. Throws BootException / KvmException before any vCPU runs.</summary>
    public void Start() => throw new NotImplementedException();

    /// <summary>Forces the VM to stop; returns when every vCPU thread has left the guest.</summary>
    public void Stop() => throw new NotImplementedException();

    /// <summary>Waits until the VM has exited; false on timeout or cancellation.</summary>
    public bool WaitForExit(TimeSpan timeout, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Waits for a console line matching <paramref name="pattern"/> (also among lines printed before the call); null on timeout, exit or cancellation.</summary>
    public ConsoleLine? WaitForConsole(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Types bytes into the guest's UART receive FIFO.</summary>
    public void SendConsole(ReadOnlySpan<byte> bytes) => throw new NotImplementedException();

    public void Dispose() { }
}
