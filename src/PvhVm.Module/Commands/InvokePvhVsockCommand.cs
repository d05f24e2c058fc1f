using System.Management.Automation;
using System.Net.Sockets;
using System.Text;

namespace PvhVm.Module.Commands;

/// <summary>
/// Invoke-PvhVsock: one exchange with a program listening on a vsock port in a running VM's guest: sends the input
/// lines, ends its side of the stream, and returns the lines the guest answers until it closes the connection.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "PvhVsock")]
[OutputType(typeof(string))]
public sealed class InvokePvhVsockCommand : VsockCmdlet
{
    private readonly List<string> _input = [];

    /// <summary>Lines to send, each followed by a newline.</summary>
    [Parameter(ValueFromPipeline = true)]
    [AllowEmptyString]
    [AllowEmptyCollection]
    public string[] InputObject { get; set; } = [];

    protected override void ProcessRecord() => _input.AddRange(InputObject);

    protected override void EndProcessing()
    {
        var socket = Open(out var vm);
        if (socket is null)
        {
            return;
        }

        using var stream = new NetworkStream(socket, ownsSocket: true);
        stream.Write(Encoding.UTF8.GetBytes(string.Concat(_input.Select(line => line + "\n"))));
        // Shutting down our side lets a guest that reads to end of stream answer and close.
        socket.Shutdown(SocketShutdown.Send);
        socket.ReceiveTimeout = (int)Math.Clamp(Timeout.TotalMilliseconds, 1, int.MaxValue);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        try
        {
            while (reader.ReadLine() is { } line)
            {
                WriteObject(line);
            }
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
        {
            WriteError(VmErrors.VsockReplyTimeout(vm!, Port, Timeout));
        }
    }
}
