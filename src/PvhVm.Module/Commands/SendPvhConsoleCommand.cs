using System.Management.Automation;
using System.Text;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Commands;

/// <summary>Send-PvhConsole: types text into the guest's serial port (its UART receive FIFO).</summary>
[Cmdlet(VerbsCommunications.Send, "PvhConsole", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(void))]
public sealed class SendPvhConsoleCommand : VmTargetCmdlet
{
    /// <summary>
    /// The text, second in every parameter set: Send-PvhConsole web1 'ls', Send-PvhConsole -VM $vm 'ls'. A positional
    /// argument binds before pipeline input is seen, so the first one always takes -Name: with piped VMs, name -Text.
    /// </summary>
    [Parameter(Mandatory = true, Position = 1)]
    [AllowEmptyString]
    public string Text { get; set; } = "";

    /// <summary>Appends a newline ("\n"), as pressing Enter does.</summary>
    [Parameter]
    public SwitchParameter Line { get; set; }

    protected override void ProcessRecord()
    {
        var bytes = Encoding.UTF8.GetBytes(Line ? Text + "\n" : Text);
        foreach (var entry in ResolveTargets())
        {
            var vm = entry;
            if (vm.State != VmState.Running)
            {
                WriteError(VmErrors.InvalidState(vm, "send console input to"));
                continue;
            }

            if (!ShouldProcess(vm.Name, $"Send {bytes.Length} byte(s) to the serial console"))
            {
                continue;
            }

            try
            {
                var accepted = vm.SendConsole(bytes);
                if (accepted < bytes.Length)
                {
                    WriteWarning($"VM '{vm.Name}': the guest's receive FIFO took {accepted} of {bytes.Length} bytes; the guest is not reading its serial port fast enough.");
                }
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(EngineErrors.Record(e, vm));
            }
        }
    }
}
