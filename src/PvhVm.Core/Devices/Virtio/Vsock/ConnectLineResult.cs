namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>What reading a host connection's `CONNECT port` line came to.</summary>
internal enum ConnectLineResult
{
    /// <summary>The line is not complete yet.</summary>
    Incomplete,

    /// <summary>Not a valid line, too long, or the host went away: refuse the connection.</summary>
    Refused,

    /// <summary>The line named a guest port: send the guest a REQUEST.</summary>
    Complete,
}
