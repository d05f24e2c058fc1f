using System.Diagnostics;
using System.Net.Http;
using System.Net.Sockets;
using PvhVm.Control;
using PvhVm.Core.Boot;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Kernel;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Vms;

/// <summary>
/// A VM run by a pvhvm-host process of its own, reached over the API socket in its folder of the runtime directory. A
/// host that has ended (killed, crashed) is read from its folder instead: the VM shows as Failed with how the host ended,
/// its console from the copy the host kept on disk.
/// </summary>
public sealed class HostProcessVm : VmHandle
{
    /// <summary>How long one answer of the host serves every property read (a table row reads several).</summary>
    private static readonly TimeSpan FreshFor = TimeSpan.FromMilliseconds(20);

    /// <summary>How long a dead host's monitor shell gets to record how the host ended.</summary>
    private static readonly TimeSpan ExitStatusGrace = TimeSpan.FromMilliseconds(500);

    private readonly object _gate = new();
    private readonly HostClient _client;
    private VmDescription _last;
    private long _lastTimestamp;
    private bool _ended;
    private BootInfo? _bootInfo;

    internal HostProcessVm(VmFolder folder, VmDescription description)
    {
        Folder = folder;
        _last = description;
        _client = new HostClient(folder.SocketPath);
    }

    internal VmFolder Folder { get; }

    public override string Name => _last.Name;

    public override Guid Id => _last.Id;

    public override VmHosting Hosting => VmHosting.HostProcess;

    public override int? HostProcessId => _last.ProcessId;

    public override VmConfig Config => Describe().Config;

    public override VmStatus Status => Describe().Status;

    /// <summary>Read from the kernel file when first asked (the host read it too, to create the VM); null if it is gone.</summary>
    public override BootInfo? BootInfo
    {
        get
        {
            try
            {
                return _bootInfo ??= KernelInspector.Inspect(_last.Config.KernelPath);
            }
            catch (KernelImageException)
            {
                return null;
            }
        }
    }

    public override long ConsoleLineCount => Describe().ConsoleLines;

    public override long DroppedConsoleLines => Describe().DroppedConsoleLines;

    internal override bool Exists => Folder.ReadState()?.Id == Id;


    /// <summary>What the host says now (or said within <see cref="FreshFor"/>); for a host that has ended, what its folder says.</summary>
    internal VmDescription Describe()
    {
        lock (_gate)
        {
            if (_ended || Stopwatch.GetElapsedTime(_lastTimestamp) < FreshFor)
            {
                return _last;
            }
        }

        try
        {
            return Remember(_client.GetVmAsync().GetAwaiter().GetResult());
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return Ended();
        }
    }

    internal override void Start() => Remember(Call(client => client.ActAsync(VmAction.Start)));

    internal override void Stop() => Remember(Call(client => client.ActAsync(VmAction.Stop)));

    internal override bool WaitForExit(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = timeout == Timeout.InfiniteTimeSpan ? MaxConsoleWait : timeout - clock.Elapsed;
            var slice = left < TimeSpan.Zero ? TimeSpan.Zero : left < MaxConsoleWait ? left : MaxConsoleWait;
            try
            {
                if (Remember(_client.GetVmAsync(slice, cancellationToken).GetAwaiter().GetResult()).Status.State.HasExited())
                {
                    return true;
                }
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (Exception e) when (IsUnreachable(e))
            {
                // A host that ended took its VM with it: that VM has exited (Failed, unless it had ended before).
                Ended();
                return true;
            }

            if (timeout != Timeout.InfiniteTimeSpan && clock.Elapsed >= timeout)
            {
                return false;
            }
        }
    }

    internal override ConsoleRead ReadConsole(long after, int? tail, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            var page = _client.ReadConsoleAsync(after, tail, wait > TimeSpan.Zero ? wait : null, cancellationToken).GetAwaiter().GetResult();
            // The VM has ended: the state remembered from before is stale, whatever its age.
            return new ConsoleRead(page.Lines, page.Completed ? Changed(page.Completed) : false);
        }
        catch (OperationCanceledException)
        {
            return new ConsoleRead([], Completed: false);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            var description = Ended();
            var lines = Folder.ReadConsoleFile(description.Status.StartTime ?? DateTimeOffset.Now).Where(line => line.Sequence > after).ToList();
            return new ConsoleRead(tail is { } count ? lines.Skip(Math.Max(0, lines.Count - count)).ToList() : lines, Completed: true);
        }
    }

    internal override int SendConsole(byte[] bytes) => Call(client => client.SendConsoleAsync(System.Text.Encoding.UTF8.GetString(bytes))).Accepted;

    /// <summary>The host's; none once it has ended (the layout was in its memory).</summary>
    internal override (IReadOnlyList<LayoutRegion> Regions, IReadOnlyList<E820Entry> E820) MemoryLayout()
    {
        try
        {
            var document = _client.GetMemoryMapAsync().GetAwaiter().GetResult();
            return (document.Regions, document.E820);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            Ended();
            return ([], []);
        }
    }

    internal override IReadOnlyList<VmDisk> GetDisks() => Call(client => client.GetDisksAsync());

    internal override VmDisk AddDisk(DiskConfig disk) => Changed(Call(client => client.AddDiskAsync(disk)));

    internal override bool RemoveDisk(string guestName) => Changed(Call(client => client.RemoveDiskAsync(guestName)));

    internal override IReadOnlyList<VmNetworkAdapter> GetNetworkAdapters() => Call(client => client.GetNetworkAdaptersAsync());

    internal override VmNetworkAdapter AddNetworkAdapter(NetworkAdapterConfig adapter) => Changed(Call(client => client.AddNetworkAdapterAsync(adapter)));

    internal override bool RemoveNetworkAdapter(string tapName) => Changed(Call(client => client.RemoveNetworkAdapterAsync(tapName)));

    internal override void Suspend() => Remember(Call(client => client.ActAsync(VmAction.Pause)));

    internal override void Resume() => Remember(Call(client => client.ActAsync(VmAction.Resume)));

    /// <summary>The host writes the folder (as this user: it runs as this user); the checkpoint is then read back here.</summary>
    internal override Checkpoint CreateCheckpoint(string folder) => Checkpoint.Read(Call(client => client.CheckpointAsync(folder)).Path);

    /// <summary>
    /// A live host stops its VM (its last state is kept here: the handle reads as the VM was when removed), removes the
    /// folder and exits (DELETE /vm); a dead one's folder is removed here.
    /// </summary>
    internal override bool Remove()
    {
        if (!Exists)
        {
            return false;
        }

        try
        {
            if (Describe().Status.State.IsActive())
            {
                try
                {
                    Stop();
                }
                catch (HostApiException e) when (e.StatusCode == 409)
                {
                    // Stopped meanwhile, by another session.
                }
            }

            _client.DeleteAsync().GetAwaiter().GetResult();
            lock (_gate)
            {
                _ended = true;
            }
        }
        catch (Exception e) when (IsUnreachable(e) || e is InvalidOperationException)
        {
            if (HostProbe.Of(Folder).IsAlive)
            {
                throw;
            }

            Ended();
            Folder.Delete();
        }

        VmRegistry.Forget(this);
        return true;
    }

    /// <summary>A request to the live host; an ended host is an InvalidOperationException that says how it ended.</summary>
    private T Call<T>(Func<HostClient, Task<T>> request)
    {
        try
        {
            return request(_client).GetAwaiter().GetResult();
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            var status = Ended().Status;
            throw new InvalidOperationException($"VM '{Name}' is {status.State}: {status.Fault?.Message ?? "its host process has ended."}", e);
        }
    }

    /// <summary>The VM changed (its config, or it ended): the next read asks the host again.</summary>
    private T Changed<T>(T result)
    {
        Expire();
        return result;
    }

    /// <summary>
    /// The next read asks the host again, whatever was cached: a cmdlet that looks a VM up wants its state now, not the
    /// answer a moment ago served for one view's property reads.
    /// </summary>
    internal void Expire()
    {
        lock (_gate)
        {
            _lastTimestamp = 0;
        }
    }

    private VmDescription Remember(VmDescription description)
    {
        lock (_gate)
        {
            // An answer about another VM: this one was removed and a new VM took its name (and socket path).
            if (description.Id != _last.Id)
            {
                _ended = true;
            }

            if (!_ended)
            {
                _last = description;
                _lastTimestamp = Stopwatch.GetTimestamp();
            }

            return _last;
        }
    }

    /// <summary>
    /// The host does not answer: if it has ended, the VM's last state with the host's end as its status (kept: a host
    /// never comes back). A host that lives but did not answer is an IOException. A folder removed meanwhile (another
    /// session removed the VM) leaves the last state seen.
    /// </summary>
    private VmDescription Ended()
    {
        var probe = HostProbe.Of(Folder);
        var clock = Stopwatch.StartNew();
        while (!probe.IsAlive && probe.Exit is null && Directory.Exists(Folder.Path) && clock.Elapsed < ExitStatusGrace)
        {
            Thread.Sleep(10);
            probe = HostProbe.Of(Folder);
        }

        if (probe.IsAlive)
        {
            throw new IOException($"The host process {probe.LastState?.ProcessId} of VM '{Name}' is alive but does not answer on {Folder.SocketPath}.");
        }

        lock (_gate)
        {
            if (!_ended && probe.LastState is null && !Directory.Exists(Folder.Path))
            {
                _ended = true;
            }
            else if (!_ended && probe.DeadStatus() is { } status)
            {
                _last = (probe.LastState ?? _last) with { Status = status };
                _ended = true;
            }

            return _last;
        }
    }

    /// <summary>Nobody listens on the socket (refused, gone) or the connection broke mid-answer: the host may have ended.</summary>
    private static bool IsUnreachable(Exception e) => e is HttpRequestException or SocketException or IOException;
}
