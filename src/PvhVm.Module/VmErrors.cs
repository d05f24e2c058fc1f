using System.Management.Automation;
using PvhVm.Module.Vms;

namespace PvhVm.Module;

/// <summary>The module's error ids: one place decides each id, category and recommended action.</summary>
internal static class VmErrors
{
    public static ErrorRecord NotFound(string name)
        => ErrorRecordFactory.Create(new ItemNotFoundException($"No PvhVm VM named '{name}' exists (in this process or in the runtime directory)."), "VmNotFound", ErrorCategory.ObjectNotFound, name);

    public static ErrorRecord NotFound(Guid id)
        => ErrorRecordFactory.Create(new ItemNotFoundException($"No PvhVm VM with id '{id}' exists (in this process or in the runtime directory)."), "VmNotFound", ErrorCategory.ObjectNotFound, id);

    public static ErrorRecord NotRegistered(VmHandle vm)
        => ErrorRecordFactory.Create(new ItemNotFoundException($"The VM '{vm.Name}' ({vm.Id}) has been removed."), "VmNotFound", ErrorCategory.ObjectNotFound, vm);

    public static ErrorRecord InvalidName(string name, string message)
        => ErrorRecordFactory.Create(new ArgumentException(message), "InvalidVmName", ErrorCategory.InvalidArgument, name);

    public static ErrorRecord NameTaken(string name)
        => ErrorRecordFactory.Create($"A VM named '{name}' already exists; VM names are unique (case-insensitive).", "VmNameTaken", ErrorCategory.ResourceExists, name);

    public static ErrorRecord InvalidState(VmHandle vm, string operation)
        => ErrorRecordFactory.Create($"Cannot {operation} VM '{vm.Name}' in state {vm.State}.", "InvalidVmState", ErrorCategory.InvalidOperation, vm);

    public static ErrorRecord Running(VmHandle vm)
        => ErrorRecordFactory.Create($"VM '{vm.Name}' is {vm.State}. Stop it first, or use -Force to stop and remove it.", "VmRunning", ErrorCategory.InvalidOperation, vm);

    public static ErrorRecord WaitTimeout(VmHandle vm, string waitingFor, TimeSpan timeout)
        => ErrorRecordFactory.Create(new TimeoutException($"VM '{vm.Name}': timed out after {timeout.TotalSeconds:0.###} s waiting for {waitingFor}."), "WaitTimeout", ErrorCategory.OperationTimeout, vm);

    public static ErrorRecord PatternNotSeen(VmHandle vm, string pattern)
        => ErrorRecordFactory.Create($"VM '{vm.Name}' exited ({vm.ExitReason}) before a console line matched '{pattern}'.", "ConsolePatternNotFound", ErrorCategory.ObjectNotFound, vm);

    /// <summary>A -Pattern or -ConsolePattern that is not a valid regular expression, for every cmdlet that takes one.</summary>
    public static ErrorRecord InvalidConsolePattern(string pattern, ArgumentException exception)
        => ErrorRecordFactory.Create(exception, "InvalidConsolePattern", ErrorCategory.InvalidArgument, pattern);

    public static ErrorRecord DiskNotFound(VmHandle vm, string guestName)
        => ErrorRecordFactory.Create(new ItemNotFoundException($"VM '{vm.Name}' has no disk {guestName}."), "DiskNotFound", ErrorCategory.ObjectNotFound, vm);

    public static ErrorRecord DiskImageExists(string path)
        => ErrorRecordFactory.Create(new IOException($"'{path}' already exists; New-PvhDisk does not overwrite a file without -Force."), "DiskImageExists", ErrorCategory.ResourceExists, path);

    public static ErrorRecord NetworkAdapterNotFound(VmHandle vm, string tapName)
        => ErrorRecordFactory.Create(new ItemNotFoundException($"VM '{vm.Name}' has no network adapter on tap '{tapName}'."), "NetworkAdapterNotFound", ErrorCategory.ObjectNotFound, vm);

    public static ErrorRecord VsockNotEnabled(VmHandle vm)
        => ErrorRecordFactory.Create($"VM '{vm.Name}' has no vsock device.", "VsockNotEnabled", ErrorCategory.InvalidOperation, vm,
            "Create the VM with New-PvhVm -EnableVsock (or -VsockCid).");

    public static ErrorRecord VsockConnectFailed(VmHandle vm, Vsock.VsockConnectException exception) => exception.Failure switch
    {
        Vsock.VsockConnectFailure.NotListening => ErrorRecordFactory.Create(exception, "VsockNotRunning", ErrorCategory.ResourceUnavailable, vm,
            "Start the VM first: its vsock socket exists only while it runs."),
        Vsock.VsockConnectFailure.TimedOut => ErrorRecordFactory.Create(exception, "VsockTimeout", ErrorCategory.OperationTimeout, vm),
        _ => ErrorRecordFactory.Create(exception, "VsockConnectionRefused", ErrorCategory.ConnectionError, vm,
            "Check that a program in the guest listens on that vsock port (and that the guest kernel has virtio_vsock)."),
    };

    public static ErrorRecord VsockReplyTimeout(VmHandle vm, uint port, TimeSpan timeout)
        => ErrorRecordFactory.Create(new TimeoutException($"VM '{vm.Name}': guest port {port} did not end its reply within {timeout.TotalSeconds:0.###} s."),
            "VsockTimeout", ErrorCategory.OperationTimeout, vm);

    public static ErrorRecord PathNotFound(string path, Exception exception)
        => ErrorRecordFactory.Create(exception, "PathNotFound", ErrorCategory.ObjectNotFound, path);

    /// <summary>-MemoryLimitMB or -CpuQuotaPercent with -InProcess: the limits are a host process's cgroups.</summary>
    public static ErrorRecord LimitsNeedHostProcess(string name)
        => ForVm(EngineErrors.Record(new ArgumentException(
            "-MemoryLimitMB and -CpuQuotaPercent limit a VM's host process; an -InProcess VM runs in this pwsh and has none."), name), name);

    /// <summary>
    /// The same error, about the VM named <paramref name="name"/>: the name is its target and begins the message the user
    /// sees, so it is plain which row of Import-Csv fleet.csv | New-PvhVm failed.
    /// </summary>
    public static ErrorRecord ForVm(ErrorRecord error, string name) => new(error.Exception, error.FullyQualifiedErrorId, error.CategoryInfo.Category, name)
    {
        ErrorDetails = new ErrorDetails($"VM '{name}': {error.ErrorDetails?.Message ?? error.Exception.Message}")
        {
            RecommendedAction = error.ErrorDetails?.RecommendedAction,
        },
    };
}
