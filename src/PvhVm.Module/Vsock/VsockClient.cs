using System.Net.Sockets;
using System.Text;

namespace PvhVm.Module.Vsock;

/// <summary>Why a connection to a guest port did not come up.</summary>
internal enum VsockConnectFailure
{
    /// <summary>The VM's socket is not there: the VM is not running.</summary>
    NotListening,

    /// <summary>The device ended the connection before `OK`: nothing listens on that guest port.</summary>
    Refused,

    TimedOut,
}

internal sealed class VsockConnectException(VsockConnectFailure failure, string message) : IOException(message)
{
    public VsockConnectFailure Failure { get; } = failure;
}

/// <summary>
/// The host side of the VM's hybrid vsock socket (Firecracker's protocol): connect, `CONNECT port\n`, wait for
/// `OK hostport\n`. What follows on the socket is the guest program's byte stream.
/// </summary>
internal static class VsockClient
{
    private const int MaxReplyLine = 32;

    public static Socket Connect(string socketPath, uint port, TimeSpan timeout)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            }
            catch (SocketException e)
            {
                throw new VsockConnectException(VsockConnectFailure.NotListening, $"Cannot reach the VM's vsock socket '{socketPath}': {e.Message}.");
            }

            socket.Send(Encoding.ASCII.GetBytes($"CONNECT {port}\n"));
            socket.ReceiveTimeout = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
            var reply = ReadLine(socket, port, timeout);
            if (!reply.StartsWith("OK ", StringComparison.Ordinal))
            {
                throw new VsockConnectException(VsockConnectFailure.Refused, $"Guest port {port} answered '{reply}' instead of OK.");
            }

            socket.ReceiveTimeout = 0;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The `OK` line, read a byte at a time so no byte of the guest's stream is taken with it.</summary>
    private static string ReadLine(Socket socket, uint port, TimeSpan timeout)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < MaxReplyLine)
        {
            var read = socket.Receive(one, SocketFlags.None, out var error);
            if (error is SocketError.TimedOut or SocketError.WouldBlock)
            {
                throw new VsockConnectException(VsockConnectFailure.TimedOut, $"Guest port {port} did not accept within {timeout.TotalSeconds:0.###} s.");
            }

            if (error != SocketError.Success || read == 0)
            {
                throw new VsockConnectException(VsockConnectFailure.Refused, $"Guest port {port} refused the connection (nothing listens there, or the guest has no vsock driver).");
            }

            if (one[0] == '\n')
            {
                return line.ToString();
            }

            line.Append((char)one[0]);
        }

        throw new VsockConnectException(VsockConnectFailure.Refused, $"Guest port {port}: the device's answer was not an OK line.");
    }
}
