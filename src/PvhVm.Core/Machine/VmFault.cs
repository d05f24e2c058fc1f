namespace PvhVm.Core.Machine;

/// <summary>What KVM reported when the VM could not go on; for a boot the engine refused, VcpuIndex -1 and the reason.</summary>
/// <param name="ExitReason">The KVM exit reason name (e.g. KVM_EXIT_INTERNAL_ERROR).</param>
/// <param name="Suberror">The internal-error suberror, when there is one (1 = emulation failure).</param>
/// <param name="Rip">The faulting vCPU's instruction pointer.</param>
/// <param name="InstructionBytes">The instruction bytes KVM reported (may be empty).</param>
public sealed record VmFault(int VcpuIndex, string ExitReason, uint? Suberror, ulong Rip, byte[] InstructionBytes, string Message)
{
    public override string ToString() => Message;
}
