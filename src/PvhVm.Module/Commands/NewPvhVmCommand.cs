using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Logging;
using PvhVm.Control;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// New-PvhVm: creates a VM in state Created under a unique name, in a host process of its own (the default: it outlives
/// this pwsh and every pwsh of the user sees it) or, with -InProcess, in this pwsh. The engine inspects the kernel either way.
/// </summary>
[Cmdlet(VerbsCommon.New, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(VmHandle))]
public sealed class NewPvhVmCommand : PvhCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The kernel; files from Get-ChildItem bind here through their PSPath (and by their Name to -Name).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath")]
    [ValidateNotNullOrEmpty]
    public string? KernelPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? InitrdPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string CommandLine { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, int.MaxValue)]
    public int MemoryMB { get; set; } = VmConfig.DefaultMemoryMB;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, int.MaxValue)]
    public int ProcessorCount { get; set; } = 1;

    /// <summary>Raw images the guest gets as writable disks, in order: vda, vdb, ...</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] DiskPath { get; set; } = [];

    /// <summary>Raw images the guest gets as read-only disks, after the writable ones.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] ReadOnlyDiskPath { get; set; } = [];

    /// <summary>A virtio-rng device fed from the host's getrandom. Off by default: see the help.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter EnableEntropy { get; set; }

    /// <summary>Host taps the guest gets network adapters on, in order: eth0, eth1, ... (each made for the VM unless it exists).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] TapName { get; set; } = [];

    /// <summary>A virtio-vsock device with an allocated CID; implied by -VsockCid and -VsockPath.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter EnableVsock { get; set; }

    /// <summary>The guest's vsock CID (3 or more), unique among this session's VMs.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(3, uint.MaxValue - 1)]
    public uint? VsockCid { get; set; }

    /// <summary>Where the VM's vsock Unix socket goes; by default a private directory of the VM's own.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? VsockPath { get; set; }

    /// <summary>Runs the VM in this pwsh process, as a short runbook wants: the fastest round trip, gone with the process.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter InProcess { get; set; }

    /// <summary>The host process's memory (RAM and swap, guest pages included) in MiB, enforced by a cgroup of its own.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, int.MaxValue)]
    public int? MemoryLimitMB { get; set; }

    /// <summary>The host process's CPU time, in percent of one CPU (200 = two CPUs), enforced by a cgroup of its own.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 100_000)]
    public int? CpuQuotaPercent { get; set; }

    private static string ModuleDirectory => Path.GetDirectoryName(typeof(NewPvhVmCommand).Assembly.Location)!;

    /// <summary>The probe kernel shipped in the module folder, used when no -KernelPath is given.</summary>
    internal static string BuiltInProbePath => Path.Combine(ModuleDirectory, "guests", "probe.elf");

    /// <summary>The per-VM host program, NativeAOT, shipped in the module folder.</summary>
    internal static string HostProgramPath => Path.Combine(ModuleDirectory, "host", "pvhvm-host");

    protected override void ProcessRecord()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            WriteError(VmErrors.InvalidName(Name, "A VM name cannot be empty or only white space."));
            return;
        }

        if (WildcardPattern.ContainsWildcardCharacters(Name))
        {
            WriteError(VmErrors.InvalidName(Name, $"The VM name '{Name}' contains wildcard characters (* ? [ ]); other cmdlets take names as wildcard patterns."));
            return;
        }

        if (VmRegistry.Contains(Name))
        {
            WriteError(VmErrors.NameTaken(Name));
            return;
        }

        // The engine reads and judges the kernel (KernelImage* errors) and the initrd (BootFailedInitrd*) now, not at start.
        var kernel = BuiltInProbePath;
        string? initrd = null;
        if (KernelPath is not null && !TryResolveFileSystemPath(KernelPath, out kernel, out var error)
            || InitrdPath is not null && !TryResolveFile(InitrdPath, out initrd, out error))
        {
            WriteError(VmErrors.ForVm(error, Name));
            return;
        }

        var disks = new List<DiskConfig>();
        foreach (var (path, readOnly) in DiskPath.Select(path => (path, false)).Concat(ReadOnlyDiskPath.Select(path => (path, true))))
        {
            if (!TryResolveFileSystemPath(path, out var resolved, out error))
            {
                WriteError(VmErrors.ForVm(error, Name));
                return;
            }

            disks.Add(new DiskConfig(resolved, readOnly));
        }

        string? vsockPath = null;
        if (VsockPath is not null && !TryResolveFileSystemPath(VsockPath, out vsockPath, out error))
        {
            WriteError(VmErrors.ForVm(error, Name));
            return;
        }

        var config = new VmConfig(Name, kernel, initrd, CommandLine, MemoryMB, ProcessorCount)
        {
            Disks = disks,
            EnableEntropy = EnableEntropy,
            NetworkAdapters = TapName.Select(tap => new NetworkAdapterConfig(tap)).ToList(),
            EnableVsock = EnableVsock,
            VsockCid = VsockCid,
            VsockPath = vsockPath,
        };
        // A host-process VM's CID is chosen by the launcher, host-wide under a lock (two sessions may create at once).
        if (config.HasVsock && InProcess)
        {
            if (!TryChooseVsockCid(Name, config.VsockCid, out var cid))
            {
                return;
            }

            config = config with { VsockCid = cid };
        }

        if (!ShouldProcess(Name, $"Create PVH VM from '{kernel}' with {MemoryMB} MB, {ProcessorCount} vCPU(s), {disks.Count} disk(s) and {TapName.Length} network adapter(s)"))
        {
            return;
        }

        if (InProcess && (MemoryLimitMB is not null || CpuQuotaPercent is not null))
        {
            // Not a parameter set: a script passing -InProcess:$false or splatting it must still reach the limits.
            WriteError(VmErrors.LimitsNeedHostProcess(Name));
            return;
        }

        if (InProcess)
        {
            CreateInProcess(config);
        }
        else
        {
            CreateInHostProcess(config);
        }
    }

    private void CreateInHostProcess(VmConfig config)
    {
        if (SocketPathTooLong(Name) is { } tooLong)
        {
            WriteError(tooLong);
            return;
        }

        try
        {
            var (launched, description) = HostLauncher.Launch(VmRegistry.Directory, config, HostProgramPath, new HostLimits(MemoryLimitMB, CpuQuotaPercent),
                VmRegistry.InProcessVsockCids());
            var vm = VmRegistry.AddHostProcess(launched, description);
            WriteLog(vm.TakeLog());
            WriteObject(vm);
        }
        catch (VmFolderExistsException)
        {
            WriteError(VmErrors.NameTaken(Name));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(VmErrors.ForVm(EngineErrors.Record(e, Name), Name));
        }
    }

    /// <summary>sockaddr_un's sun_path holds 108 bytes, the last a NUL.</summary>
    private const int MaxSocketPathBytes = 107;

    /// <summary>An InvalidVmName error when a host-process VM of this name would have a socket path too long to bind; else null.</summary>
    internal static ErrorRecord? SocketPathTooLong(string name)
    {
        var folder = VmRegistry.Directory.FolderFor(name);
        return System.Text.Encoding.UTF8.GetByteCount(folder.SocketPath) > MaxSocketPathBytes
            ? VmErrors.InvalidName(name, $"The VM name '{name}' is too long for a host-process VM: its socket path {folder.SocketPath} must fit in {MaxSocketPathBytes} bytes. Use a shorter name (or -InProcess).")
            : null;
    }

    private void CreateInProcess(VmConfig config)
    {
        var log = new VmLogQueue(Name);
        VirtualMachine vm;
        try
        {
            vm = new VirtualMachine(config, log);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteLog(log.Drain());
            WriteError(VmErrors.ForVm(EngineErrors.Record(e, Name), Name));
            return;
        }

        WriteLog(log.Drain());
        var entry = new InProcessVm(vm, log);
        TagVm(entry);
        if (!VmRegistry.TryAdd(entry))
        {
            // Another runspace (or pwsh, for a host-process VM) took the name while the kernel was being inspected.
            vm.Dispose();
            WriteError(VmErrors.NameTaken(Name));
            return;
        }

        WriteObject(entry);
    }

    /// <summary>Resolves a PowerShell path (relative to $PWD, ~, PSDrives) to something that exists, or says why not (PathNotFound).</summary>
    private bool TryResolveFile(string path, [NotNullWhen(true)] out string? resolved, [NotNullWhen(false)] out ErrorRecord? error)
    {
        if (!TryResolveFileSystemPath(path, out resolved, out error))
        {
            return false;
        }

        // Whatever exists goes on to the engine, which says what is wrong with a directory, a FIFO or an empty file.
        if (Path.Exists(resolved))
        {
            return true;
        }

        error = VmErrors.PathNotFound(path, new ItemNotFoundException($"Cannot find the file '{resolved}'."));
        return false;
    }
}
