using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>Tab completion of -GuestName (vda, ...) from the disks of the VMs named by -Name/-VMName, or of every VM.</summary>
public sealed class DiskGuestNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var vmPattern = WildcardPattern.Get((fakeBoundParameters["Name"] ?? fakeBoundParameters["VMName"]) switch
        {
            string name => name,
            object[] names when names.Length > 0 => $"{names[0]}",
            _ => "*",
        }, WildcardOptions.IgnoreCase);
        var prefix = WildcardPattern.Get(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return VmRegistry.All()
            .Where(entry => vmPattern.IsMatch(entry.Name))
            .SelectMany(DisksOf)
            .Where(disk => prefix.IsMatch(disk.GuestName))
            .GroupBy(disk => disk.GuestName)
            .OrderBy(group => group.Key, StringComparer.Ordinal)
            .Select(group => new CompletionResult(group.Key, group.Key, CompletionResultType.ParameterValue,
                string.Join(", ", group.Select(disk => $"{disk.VmName}: {disk.Path}"))));
    }

    /// <summary>A VM whose host has ended (or will not answer) has no disks to offer; completion goes on with the others.</summary>
    private static IReadOnlyList<VmDisk> DisksOf(VmHandle vm)
    {
        try
        {
            return vm.GetDisks();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            return [];
        }
    }
}
