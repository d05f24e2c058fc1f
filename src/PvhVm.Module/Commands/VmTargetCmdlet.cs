using System.Management.Automation;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// A cmdlet that acts on registered VMs, named by -Name (wildcards; also bound from piped strings and from any pipeline
/// object with a Name property, such as a VM that came back deserialized from a job) or given as VM objects by -VM / the pipeline.
/// </summary>
public abstract class VmTargetCmdlet : PvhCmdlet
{
    protected const string ByName = "ByName";
    protected const string ByVm = "ByVm";

    /// <summary>Also -VMName, the name Hyper-V's device cmdlets use, which binds the VmName of a piped disk.</summary>
    [Parameter(ParameterSetName = ByName, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    [Alias("VMName")]
    public string[] Name { get; set; } = [];

    // Not positional, so that a bare word binds to -Name; the default parameter set, so that a piped VM binds here by
    // value rather than to -Name by property name (which would pick whichever VM holds that name now). PowerShell binds
    // a piped object by value without conversion first: a VM binds here, a string to -Name, anything else with a Name
    // property to -Name by property name.
    [Parameter(ParameterSetName = ByVm, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public VmHandle[] VM { get; set; } = [];

    /// <summary>The registered VMs this record names, each once; a VM object that was removed is a VmNotFound error.</summary>
    internal IReadOnlyList<VmHandle> ResolveTargets()
    {
        var found = new List<VmHandle>();
        if (ParameterSetName == ByVm)
        {
            foreach (var vm in VM)
            {
                if (vm.Exists)
                {
                    found.Add(vm);
                }
                else
                {
                    WriteError(VmErrors.NotRegistered(vm));
                }
            }
        }
        else
        {
            found.AddRange(ResolveNames(Name));
        }

        return found.DistinctBy(entry => entry.Id).ToList();
    }

    /// <summary>
    /// For each target in state <paramref name="required"/> (others are InvalidVmState errors), after ShouldProcess:
    /// runs <paramref name="change"/>; what the engine threw is that VM's error.
    /// </summary>
    internal void ChangeEach(VmState required, string operation, string action, Action<VmHandle> change, bool passThru)
    {
        foreach (var vm in ResolveTargets())
        {
            if (vm.State != required)
            {
                WriteError(VmErrors.InvalidState(vm, operation));
                continue;
            }

            if (!ShouldProcess(vm.Name, action))
            {
                continue;
            }

            try
            {
                change(vm);
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(EngineErrors.Record(e, vm));
                continue;
            }
            finally
            {
                DrainLogs([vm]);
            }

            if (passThru)
            {
                WriteObject(vm);
            }
        }
    }

    /// <summary>
    /// Stops the VM and drains its engine messages; what the engine threw is the VM's error, and false. A VM that another
    /// session (or runspace) stopped first is an InvalidVmState error.
    /// </summary>
    internal bool TryStop(VmHandle entry)
    {
        try
        {
            entry.Stop();
            return true;
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(EngineErrors.Record(e, entry));
            return false;
        }
        finally
        {
            DrainLogs([entry]);
        }
    }

    /// <summary>
    /// Waits, concurrently, until each VM has exited or (with a pattern) printed a matching console line.
    /// Returns the VMs that got there; each that did not is a non-terminating error. Ctrl+C ends the wait
    /// at once and leaves every VM running.
    /// </summary>
    internal IReadOnlyList<VmHandle> WaitForAll(IReadOnlyList<VmHandle> vms, Regex? pattern, TimeSpan timeout)
    {
        var tasks = RunForEach(vms, (entry, cancel) => pattern is null
            ? entry.WaitForExit(timeout, cancel)
            : entry.WaitForConsolePattern(pattern, timeout, cancel) is not null);
        var reached = new List<VmHandle>();
        for (var i = 0; i < vms.Count; i++)
        {
            var vm = vms[i];
            if (tasks[i].IsFaulted)
            {
                WriteError(EngineErrors.Record(tasks[i].Exception!.GetBaseException(), vm));
            }
            else if (tasks[i].Result)
            {
                reached.Add(vms[i]);
            }
            else if (pattern is not null && vm.State.HasExited())
            {
                WriteError(VmErrors.PatternNotSeen(vm, pattern.ToString()));
            }
            else
            {
                WriteError(VmErrors.WaitTimeout(vm, pattern is null ? "the VM to exit" : $"a console line matching '{pattern}'", timeout));
            }
        }

        return reached;
    }
}
