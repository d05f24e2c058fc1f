using PvhVm.Core.Boot;
using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Machine;

/// <summary>Describes an exit that ends the VM as a fault: internal-error suberror, RIP and the instruction bytes.</summary>
internal static class ExitDecoder
{
    private const int MaxInstructionLength = 15;

    public static VmFault DescribeFault(KvmVcpu vcpu, VcpuExit exit, GuestMemory memory)
    {
        var reason = exit.Reason;
        uint? suberror = null;
        var instruction = exit.EmulatedInstruction.ToArray();
        string detail;
        switch (exit.Kind)
        {
            case VcpuExitKind.InternalError:
                suberror = exit.Suberror;
                detail = exit.Suberror switch
                {
                    1 => "emulation failure",
                    2 => "simultaneous exceptions",
                    3 => "delivery event (vectoring info)",
                    4 => "unexpected exit",
                    _ => $"suberror {exit.Suberror}",
                };
                break;
            case VcpuExitKind.FailEntry:
                detail = $"hardware entry failure reason 0x{exit.HardwareEntryFailureReason:x}";
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
