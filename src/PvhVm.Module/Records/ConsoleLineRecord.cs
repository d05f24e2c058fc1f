using PvhVm.Core.Machine;

namespace PvhVm.Module.Records;

/// <summary>A console line tagged with the VM that printed it (PSTypeName PvhVm.ConsoleLine).</summary>
public sealed record ConsoleLineRecord(string VmName, long Sequence, DateTimeOffset Timestamp, TimeSpan Elapsed, string Text)
{
    public const string TypeName = "PvhVm.ConsoleLine";

    public static ConsoleLineRecord From(string vmName, ConsoleLine line)
        => new(vmName, line.Sequence, line.Timestamp, line.Elapsed, line.Text);

    public override string ToString() => Text;
}
