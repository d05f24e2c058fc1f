using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PvhVm.Module.Registry;

namespace PvhVm.Module.Commands;

/// <summary>Tab completion of -Name from the VMs registered in this process.</summary>
public sealed class VmNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = wordToComplete.Trim('\'', '"');
        var pattern = WildcardPattern.Get(prefix + "*", WildcardOptions.IgnoreCase);
        foreach (var entry in VmRegistry.All().Where(entry => pattern.IsMatch(entry.Name)))
        {
            var text = entry.Name.IndexOfAny([' ', '\'', '"', '$', '`', '(', ')', ';', ',', '{', '}', '@', '#']) >= 0
                ? $"'{entry.Name.Replace("'", "''")}'"
                : entry.Name;
            yield return new CompletionResult(text, entry.Name, CompletionResultType.ParameterValue, $"{entry.Name} ({entry.Vm.State})");
        }
    }
}
