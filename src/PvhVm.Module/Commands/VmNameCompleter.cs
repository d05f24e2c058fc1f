using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text.RegularExpressions;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>Tab completion of -Name from the VMs registered in this process.</summary>
public sealed class VmNameCompleter : IArgumentCompleter
{
    /// <summary>
    /// Names that stay one literal string token unquoted. Anything else is single-quoted: metacharacters (&amp; | ; $ `
    /// spaces, the typographic quotes PowerShell also takes as quotes), a leading '-' (a parameter) or digit (1e3, 0x10
    /// and 1kb are numbers).
    /// </summary>
    private static readonly Regex BareWord = new("^[A-Za-z_][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = wordToComplete.Trim('\'', '"', '\u2018', '\u2019', '\u201A', '\u201B', '\u201C', '\u201D', '\u201E');
        var pattern = WildcardPattern.Get(prefix + "*", WildcardOptions.IgnoreCase);
        foreach (var entry in VmRegistry.All().Where(entry => pattern.IsMatch(entry.Name)))
        {
            var text = BareWord.IsMatch(entry.Name)
                ? entry.Name
                : $"'{CodeGeneration.EscapeSingleQuotedStringContent(entry.Name)}'";
            yield return new CompletionResult(text, entry.Name, CompletionResultType.ParameterValue, $"{entry.Name} ({entry.State})");
        }
    }
}
