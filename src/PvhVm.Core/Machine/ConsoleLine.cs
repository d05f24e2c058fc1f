namespace PvhVm.Core.Machine;

/// <summary>One line the guest printed on its serial console.</summary>
/// <param name="Sequence">Position in the VM's whole output, counting dropped lines; strictly increasing.</param>
public sealed record ConsoleLine(long Sequence, DateTimeOffset Timestamp, TimeSpan Elapsed, string Text);
