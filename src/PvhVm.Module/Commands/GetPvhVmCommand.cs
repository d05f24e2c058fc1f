using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Registry;

namespace PvhVm.Module.Commands;

/// <summary>Get-PvhVm: the VMs registered in this process, by name (wildcards) or id, optionally filtered by state.</summary>
[Cmdlet(VerbsCommon.Get, "PvhVm", DefaultParameterSetName = ByName)]
[OutputType(typeof(VirtualMachine))]
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
        var found = new List<RegisteredVm>();
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

        foreach (var entry in found.DistinctBy(entry => entry.Vm.Id))
        {
            if (State is null || State.Contains(entry.Vm.State))
            {
                WriteObject(entry.Vm);
            }
        }
    }
}
