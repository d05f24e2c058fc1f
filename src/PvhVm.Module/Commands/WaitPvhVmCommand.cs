using System.Management.Automation;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Wait-PvhVm: waits until VMs exit or print a console line matching -ConsolePattern. Every VM of one
/// pipeline is waited for concurrently; Ctrl+C ends the wait and leaves the VMs running.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "PvhVm", DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmHandle))]
public sealed class WaitPvhVmCommand : VmTargetCmdlet
{
    private readonly List<VmHandle> _targets = [];

    /// <summary>A regular expression (case-insensitive); the wait ends when a console line matches, including lines printed before the call.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConsolePattern { get; set; }

    /// <summary>Seconds to wait before a WaitTimeout error; by default, forever.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public double? Timeout { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            if (!_targets.Contains(entry))
            {
                _targets.Add(entry);
            }
        }
    }

    protected override void EndProcessing()
    {
        Regex? pattern;
        try
        {
            pattern = ConsolePattern is null ? null : new Regex(ConsolePattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(VmErrors.InvalidConsolePattern(ConsolePattern!, e));
            return;
        }

        // A VM that was never started would be waited for until someone starts it: say so instead. One look at each
        // state, so a VM started meanwhile is either refused or waited for, never both.
        var started = new List<VmHandle>();
        foreach (var entry in _targets)
        {
            if (entry.State == VmState.Created)
            {
                WriteError(VmErrors.InvalidState(entry, "wait for"));
            }
            else
            {
                started.Add(entry);
            }
        }

        foreach (var entry in WaitForAll(started, pattern, ToTimeout(Timeout)))
        {
            if (PassThru)
            {
                WriteObject(entry);
            }
        }
    }
}
