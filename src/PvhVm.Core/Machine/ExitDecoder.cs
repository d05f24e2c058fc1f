using PvhVm.Core.Boot;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>Reads a fault's details out of kvm_run: internal-error suberror, RIP and the instruction bytes.</summary>
internal static unsafe class ExitDecoder
{
    private const uint EmulationFailure = 1;
    private const int MaxInstructionLength = 15;

    public static VmFault DescribeFault(KvmVcpu vcpu, GuestMemory memory)
    {
        var run = vcpu.RunData;
        var reason = vcpu.ExitReason;
        uint? suberror = null;
        byte[] instruction = [];
        var detail = "";
        switch (reason)
        {
            case KvmExitReasonCode.InternalError:
                suberror = *(uint*)(run + KvmRunLayout.InternalSuberror);
                var ndata = *(uint*)(run + KvmRunLayout.InternalNdata);
                if (suberror == EmulationFailure && ndata >= 3
                    && (*(ulong*)(run + KvmRunLayout.EmulationFlags) & KvmRunLayout.EmulationFlagInstructionBytes) != 0)
                {
                    var size = Math.Min((int)run[KvmRunLayout.EmulationInsnSize], MaxInstructionLength);
                    instruction = new ReadOnlySpan<byte>(run + KvmRunLayout.EmulationInsnBytes, size).ToArray();
                }

                detail = suberror switch
                {
                    1 => "emulation failure",
                    2 => "simultaneous exceptions",
                    3 => "delivery event (vectoring info)",
                    4 => "unexpected exit",
                    _ => $"suberror {suberror}",
                };
                break;
            case KvmExitReasonCode.FailEntry:
                detail = $"hardware entry failure reason 0x{*(ulong*)(run + KvmRunLayout.FailEntryReason):x}";
                break;
            default:
                detail = "unexpected exit";
                break;
        }

        ulong rip = 0;
        try
        {
            var regs = vcpu.GetRegs();
            var sregs = vcpu.GetSregs();
            rip = regs.Rip;
            if (instruction.Length == 0)
            {
                instruction = GuestPageWalker.ReadLinear(memory, sregs, sregs.Cs.Base + rip, MaxInstructionLength);
            }
        }
        catch (KvmException)
        {
            // The registers are detail; the exit reason alone is still worth reporting.
        }

        var exitName = "KVM_EXIT_" + ToUpperSnake(reason.ToString());
        var bytes = instruction.Length == 0 ? "unavailable" : Convert.ToHexString(instruction).ToLowerInvariant();
        var message = $"vCPU {vcpu.Index}: {exitName}, {detail}, at RIP 0x{rip:x} (instruction bytes: {bytes}).";
        return new VmFault(vcpu.Index, exitName, suberror, rip, instruction, message);
    }

    private static string ToUpperSnake(string name)
        => string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()));
}
