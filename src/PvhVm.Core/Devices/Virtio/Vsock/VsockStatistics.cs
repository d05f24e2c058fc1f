namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// One vsock device's counters. Refused: connections the device reset (nothing listening, too many, a guest breaking
/// credit). Malformed: guest packets that made no sense (short, wrong length, wrong address, unknown operation).
/// ControlDropped: replies lost because a guest that never empties its receive queue let too many pile up.
/// </summary>
internal sealed record VsockStatistics(
    long ConnectionsOpened, long ConnectionsRefused, long MalformedPackets, long BytesToGuest, long BytesFromGuest,
    long ControlDropped, int OpenConnections);
