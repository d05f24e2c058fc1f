using System.Management.Automation;
using System.Net.Sockets;

namespace PvhVm.Module.Commands;

/// <summary>
/// Connect-PvhVsock: a byte stream to a program listening on a vsock port in a running VM's guest, for scripts that
/// keep a conversation (wrap it in a StreamReader and StreamWriter). The caller disposes it.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "PvhVsock")]
[OutputType(typeof(NetworkStream))]
public sealed class ConnectPvhVsockCommand : VsockCmdlet
{
    protected override void EndProcessing()
    {
        if (Open(out _) is { } socket)
        {
            WriteObject(new NetworkStream(socket, ownsSocket: true));
        }
    }
}
