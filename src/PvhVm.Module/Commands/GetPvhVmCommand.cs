using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Get-PvhVm: the VMs this pwsh can reach - its in-process VMs and every host-process VM of the user's runtime directory,
/// whichever pwsh made it - by name (wildcards) or id, optionally filtered by state.
/// </summary>
[Cmdlet(VerbsCommon.Get, "PvhVm", DefaultParameterSetName = ByName)]
[OutputType(typeof(VmHandle))]
public sealed class GetPvhVmCommand : PvhCmdlet
{
    private const string ByName = "ByName";
    private const string ById = "ById";

    [Parameter(ParameterSetName = ByName, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] Name { get; set; } = ["*"];

    [Parameter(ParameterSetName = ById, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public Guid[] Id { get; set; } = [];

    /// <summary>Only VMs in one of these states.</summary>
    [Parameter]
    public VmState[]? State { get; set; }

    protected override void ProcessRecord()
    {
        var found = new List<VmHandle>();
        if (ParameterSetName == ById)
        {
            foreach (var id in Id)
            {
                if (VmRegistry.FindById(id) is { } entry)
                {
                    found.Add(entry);
                }
                else
                {
                    WriteError(VmErrors.NotFound(id));
                }
            }
        }
        else
        {
            found.AddRange(ResolveNames(Name));
        }

        foreach (var entry in found.DistinctBy(entry => entry.Id))
        {
            if (State is null || State.Contains(entry.State))
            {
                WriteObject(entry);
            }
        }
    }
}
