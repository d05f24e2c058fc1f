using System.Management.Automation;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Module.Registry;

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
    public VirtualMachine[] VM { get; set; } = [];

    /// <summary>The registered VMs this record names, each once; a VM object that was removed is a VmNotFound error.</summary>
    internal IReadOnlyList<RegisteredVm> ResolveTargets()
    {
        var found = new List<RegisteredVm>();
        if (ParameterSetName == ByVm)
        {
            foreach (var vm in VM)
            {
                if (VmRegistry.Find(vm) is { } entry)
                {
                    found.Add(entry);
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

        return found.DistinctBy(entry => entry.Vm.Id).ToList();
    }

    /// <summary>
    /// For each target in state <paramref name="required"/> (others are InvalidVmState errors), after ShouldProcess:
    /// runs <paramref name="change"/>; what the engine threw is that VM's error.
    /// </summary>
    internal void ChangeEach(VmState required, string operation, string action, Action<VirtualMachine> change, bool passThru)
    {
        foreach (var entry in ResolveTargets())
        {
            var vm = entry.Vm;
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
                DrainLogs([entry]);
            }

            if (passThru)
            {
                WriteObject(vm);
            }
        }
    }

    /// <summary>Stops the VM and drains its engine messages; what the engine threw is the VM's error, and false.</summary>
    internal bool TryStop(RegisteredVm entry)
    {
        try
        {
            entry.Vm.Stop();
            return true;
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(EngineErrors.Record(e, entry.Vm));
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
    internal IReadOnlyList<RegisteredVm> WaitForAll(IReadOnlyList<RegisteredVm> vms, Regex? pattern, TimeSpan timeout)
    {
        var tasks = RunForEach(vms, (entry, cancel) => pattern is null
            ? entry.Vm.WaitForExit(timeout, cancel)
            : entry.Vm.Console.WaitFor(pattern, timeout, cancel) is not null);
        var reached = new List<RegisteredVm>();
        for (var i = 0; i < vms.Count; i++)
        {
            var vm = vms[i].Vm;
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
