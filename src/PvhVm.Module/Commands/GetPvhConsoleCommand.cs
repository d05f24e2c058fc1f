using System.Management.Automation;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Module.Records;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Get-PvhConsole: the lines VMs printed on their serial console, tagged by VM. -Wait follows live output,
/// like Get-Content -Wait, until every VM has exited or the user presses Ctrl+C.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PvhConsole", DefaultParameterSetName = ByVm)]
[OutputType(typeof(ConsoleLineRecord))]
public sealed class GetPvhConsoleCommand : VmTargetCmdlet
{
    private readonly List<VmHandle> _targets = [];

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
                WriteLines(entry, entry.ReadConsole(-1, tail: null, TimeSpan.Zero, StopToken).Lines, Filter(), Tail);
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
        var done = new bool[_targets.Count];
        for (var i = 0; i < _targets.Count; i++)
        {
            var read = _targets[i].ReadConsole(-1, tail: null, TimeSpan.Zero, StopToken);
            last[i] = read.Lines.Count > 0 ? read.Lines[^1].Sequence : -1;
            done[i] = read.Completed;
            WriteLines(_targets[i], read.Lines, filter, Tail);
        }

        // Each turn waits up to 100 ms on one VM still printing (over a host's socket, a long poll) and reads the others
        // without waiting, so every VM's lines come at most 100 ms late and interleave as printed.
        while (!StopToken.IsCancellationRequested && done.Contains(false))
        {
            var waitOn = Array.IndexOf(done, false);
            for (var i = 0; i < _targets.Count; i++)
            {
                if (done[i])
                {
                    continue;
                }

                var read = _targets[i].ReadConsole(last[i], tail: null, i == waitOn ? FollowInterval : TimeSpan.Zero, StopToken);
                if (read.Lines.Count > 0)
                {
                    last[i] = read.Lines[^1].Sequence;
                    WriteLines(_targets[i], read.Lines, filter, tail: null);
                }

                done[i] = read.Completed;
            }

            DrainLogs(_targets);
        }
    }

    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(100);

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

    private void WriteLines(VmHandle entry, IReadOnlyList<ConsoleLine> lines, Regex? filter, int? tail)
    {
        var selected = filter is null ? lines : lines.Where(line => filter.IsMatch(line.Text)).ToList();
        foreach (var line in tail is null ? selected : selected.Skip(Math.Max(0, selected.Count - tail.Value)))
        {
            WriteObject(Tagged(ConsoleLineRecord.From(entry.Name, line), ConsoleLineRecord.TypeName));
        }
    }
}
