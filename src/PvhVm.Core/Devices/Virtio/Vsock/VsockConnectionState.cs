namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>Where a connection is in its life.</summary>
internal enum VsockConnectionState
{
    /// <summary>Host-initiated: accepted on the VM's socket, waiting for its `CONNECT port` line.</summary>
    AwaitingConnectLine,

    /// <summary>Host-initiated: REQUEST sent to the guest, waiting for RESPONSE or RST.</summary>
    Connecting,

    Established,

    /// <summary>Done: the muxer's thread closes the host socket and forgets the connection.</summary>
    Closed,
}
