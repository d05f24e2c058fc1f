using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using Microsoft.Extensions.Logging;
using PvhVm.Control;
using PvhVm.Module.Logging;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// What every PvhVm cmdlet shares: Ctrl+C as a CancellationToken, engine log messages written to the
/// Verbose/Debug/Warning streams on the pipeline thread, and waits that stay responsive to both.
/// </summary>
public abstract class PvhCmdlet : PSCmdlet, IDisposable
{
    /// <summary>How often a wait wakes up on the pipeline thread to write queued log messages.</summary>
    private static readonly TimeSpan PumpInterval = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when the user presses Ctrl+C (StopProcessing).</summary>
    protected CancellationToken StopToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Writes the engine messages queued for these VMs. Pipeline thread only.</summary>
    internal void DrainLogs(IEnumerable<VmHandle> vms)
    {
        foreach (var vm in vms)
        {
            WriteLog(vm.TakeLog());
        }
    }

    /// <summary>
    /// For an in-process VM, a CID no VM this session sees holds (its own and every host-process VM of the user). A CID
    /// asked for that another VM holds is an InvalidVmConfig error, written here.
    /// </summary>
    internal bool TryChooseVsockCid(string vmName, uint? requested, out uint cid)
    {
        try
        {
            cid = VsockCidAllocator.Choose(VmRegistry.All().Select(vm => vm.VsockCid).OfType<uint>().ToHashSet(), requested, vmName);
            return true;
        }
        catch (ArgumentException taken)
        {
            WriteError(VmErrors.ForVm(EngineErrors.Record(taken, vmName), vmName));
            cid = 0;
            return false;
        }
    }

    /// <summary>Writes engine messages: Trace/Debug to Debug, Information to Verbose, the rest to Warning.</summary>
    internal void WriteLog(IEnumerable<LogEntry> entries)
    {
        foreach (var entry in entries)
        {
            switch (entry.Level)
            {
                case LogLevel.Trace or LogLevel.Debug:
                    WriteDebug(entry.Message);
                    break;
                case LogLevel.Information:
                    WriteVerbose(entry.Message);
                    break;
                default:
                    WriteWarning(entry.Message);
                    break;
            }
        }
    }

    internal const string VmTypeName = "PvhVm.Vm";

    /// <summary>
    /// Gives a new VM its type name (PvhVm.Vm, which the format and types files use) once, before any other runspace
    /// can see it. PowerShell keeps the type names given to a .NET object for every later wrapper of it, process-wide:
    /// adding the name at each write would grow the list and change it from several runspaces at once.
    /// </summary>
    internal static void TagVm(VmHandle vm) => PSObject.AsPSObject(vm).TypeNames.Insert(0, VmTypeName);

    internal static PSObject Tagged(object value, string typeName)
    {
        var wrapped = new PSObject(value);
        wrapped.TypeNames.Insert(0, typeName);
        return wrapped;
    }

    /// <summary>
    /// Runs <paramref name="work"/> for every VM on its own thread and waits for all of them, waking every
    /// 100 ms to write log messages and progress. Ctrl+C stops the pipeline (PipelineStoppedException).
    /// </summary>
    internal Task<T>[] RunForEach<T>(IReadOnlyList<VmHandle> vms, Func<VmHandle, CancellationToken, T> work, string? progressActivity = null)
    {
        var tasks = vms.Select(vm => Task.Factory.StartNew(
            () => work(vm, StopToken), StopToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        var progress = progressActivity is not null && vms.Count > 1 ? new ProgressRecord(1, progressActivity, "Starting") : null;
        // Waits on a continuation, which never faults: the tasks' own exceptions are for the caller to report per VM.
        var all = Task.WhenAll(tasks).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        while (!StopToken.IsCancellationRequested && !all.Wait(PumpInterval))
        {
            DrainLogs(vms);
            ReportProgress(progress, tasks);
        }

        DrainLogs(vms);
        if (StopToken.IsCancellationRequested)
        {
            // Ctrl+C: the pipeline ends as stopped; the waits end with the token and the VMs keep running.
            throw new PipelineStoppedException();
        }

        if (progress is not null)
        {
            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
        }

        return tasks;
    }

    private void ReportProgress(ProgressRecord? progress, Task[] tasks)
    {
        if (progress is null)
        {
            return;
        }

        var done = tasks.Count(task => task.IsCompleted);
        progress.StatusDescription = $"{done} of {tasks.Length} done";
        progress.PercentComplete = done * 100 / tasks.Length;
        WriteProgress(progress);
    }

    /// <summary>Seconds from a -Timeout parameter; a missing or negative value waits forever.</summary>
    internal static TimeSpan ToTimeout(double? seconds)
        => seconds is null or < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds.Value);

    /// <summary>
    /// ShouldProcess, except that -Force skips the confirmation prompt: -WhatIf still only reports, and an
    /// explicit -Confirm still asks.
    /// </summary>
    internal bool ShouldProcessUnlessForced(bool force, string target, string action)
    {
        var whatIf = MyInvocation.BoundParameters.ContainsKey("WhatIf")
            ? ((SwitchParameter)MyInvocation.BoundParameters["WhatIf"]).IsPresent
            : LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));
        return force && !whatIf && !MyInvocation.BoundParameters.ContainsKey("Confirm") || ShouldProcess(target, action);
    }

    /// <summary>
    /// The registered VMs these names match (wildcards allowed), each once, ordered as asked. A literal name
    /// that matches nothing is a VmNotFound error; a wildcard that matches nothing is not an error.
    /// </summary>
    internal IReadOnlyList<VmHandle> ResolveNames(IEnumerable<string> names)
    {
        var found = new List<VmHandle>();
        foreach (var name in names)
        {
            var matches = VmRegistry.Match(name);
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
            {
                WriteError(VmErrors.NotFound(name));
            }

            found.AddRange(matches);
        }

        return found.DistinctBy(entry => entry.Id).ToList();
    }

    /// <summary>
    /// Resolves a PowerShell path (relative to $PWD, ~, PSDrives) to a file-system path, or says why not (PathNotFound);
    /// a path of another provider (env:, function:, ...) would otherwise come back as a bare name and be opened relative
    /// to the process's directory, not $PWD.
    /// </summary>
    internal bool TryResolveFileSystemPath(string path, [NotNullWhen(true)] out string? resolved, [NotNullWhen(false)] out ErrorRecord? error)
    {
        resolved = null;
        try
        {
            var candidate = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            if (provider.Name == "FileSystem")
            {
                resolved = candidate;
                error = null;
                return true;
            }

            error = VmErrors.PathNotFound(path, new ItemNotFoundException($"'{path}' is a path of the {provider.Name} provider, which holds no files."));
        }
        catch (SessionStateException e)
        {
            error = VmErrors.PathNotFound(path, e);
        }

        return false;
    }
}
