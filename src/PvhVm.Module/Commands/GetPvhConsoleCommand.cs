using System.Management.Automation;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Module.Records;
using PvhVm.Module.Registry;

namespace PvhVm.Module.Commands;

/// <summary>
/// Get-PvhConsole: the lines VMs printed on their serial console, tagged by VM. -Wait follows live output,
/// like Get-Content -Wait, until every VM has exited or the user presses Ctrl+C.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PvhConsole", DefaultParameterSetName = ByVm)]
[OutputType(typeof(ConsoleLineRecord))]
public sealed class GetPvhConsoleCommand : VmTargetCmdlet
{
    private readonly List<RegisteredVm> _targets = [];

    /// <summary>Only the last N lines (after -Pattern filtering).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Tail { get; set; }

    /// <summary>Only lines matching this regular expression (case-insensitive).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Pattern { get; set; }

    /// <summary>Keeps writing new lines as the guests print them, until every VM has exited or Ctrl+C.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            if (!Wait)
            {
                WriteLines(entry, entry.Vm.Console.Snapshot(), Filter(), Tail);
            }
            else if (!_targets.Contains(entry))
            {
                _targets.Add(entry);
            }
        }
    }

    /// <summary>With -Wait, every VM of the pipeline is followed together, so their lines interleave as printed.</summary>
    protected override void EndProcessing()
    {
        if (!Wait || _targets.Count == 0)
        {
            return;
        }

        var filter = Filter();
        var last = new long[_targets.Count];
        for (var i = 0; i < _targets.Count; i++)
        {
            var lines = _targets[i].Vm.Console.Snapshot();
            last[i] = lines.Count > 0 ? lines[^1].Sequence : -1;
            WriteLines(_targets[i], lines, filter, Tail);
        }

        while (!StopToken.IsCancellationRequested)
        {
            var allDone = true;
            for (var i = 0; i < _targets.Count; i++)
            {
                var console = _targets[i].Vm.Console;
                var done = console.IsCompleted;
                var lines = console.ReadAfter(last[i]);
                if (lines.Count > 0)
                {
                    last[i] = lines[^1].Sequence;
                    WriteLines(_targets[i], lines, filter, tail: null);
                }

                allDone &= done;
            }

            DrainLogs(_targets);
            if (allDone)
            {
                return;
            }

            // Sleep on one VM that is still printing; the others are read on the next turn, at most 100 ms later.
            var index = Enumerable.Range(0, _targets.Count).First(i => !_targets[i].Vm.Console.IsCompleted || i == _targets.Count - 1);
            _targets[index].Vm.Console.WaitForLinesAfter(last[index], TimeSpan.FromMilliseconds(100), StopToken);
        }
    }

    private Regex? Filter()
    {
        try
        {
            return Pattern is null ? null : new Regex(Pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(VmErrors.InvalidConsolePattern(Pattern!, e));
            throw;
        }
    }

    private void WriteLines(RegisteredVm entry, IReadOnlyList<ConsoleLine> lines, Regex? filter, int? tail)
    {
        var selected = filter is null ? lines : lines.Where(line => filter.IsMatch(line.Text)).ToList();
        foreach (var line in tail is null ? selected : selected.Skip(Math.Max(0, selected.Count - tail.Value)))
        {
            WriteObject(Tagged(ConsoleLineRecord.From(entry.Name, line), ConsoleLineRecord.TypeName));
        }
    }
}
