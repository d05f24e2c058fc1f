using System.Management.Automation;
using PvhVm.Core.Checkpoints;

namespace PvhVm.Module.Commands;

/// <summary>Get-PvhCheckpoint: reads checkpoint folders back (manifest and file sizes checked) as checkpoint objects.</summary>
[Cmdlet(VerbsCommon.Get, "PvhCheckpoint")]
[OutputType(typeof(Checkpoint))]
public sealed class GetPvhCheckpointCommand : PvhCmdlet
{
    /// <summary>Checkpoint folders (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var path in Path)
        {
            IEnumerable<string> folders;
            try
            {
                folders = GetResolvedProviderPathFromPSPath(path, out _);
            }
            catch (Exception e) when (e is SessionStateException or ProviderNotFoundException)
            {
                WriteError(VmErrors.PathNotFound(path, e));
                continue;
            }

            foreach (var folder in folders)
            {
                try
                {
                    WriteObject(Checkpoint.Read(folder));
                }
                catch (Exception e) when (e is not PipelineStoppedException)
                {
                    WriteError(EngineErrors.Record(e, folder));
                }
            }
        }
    }
}
