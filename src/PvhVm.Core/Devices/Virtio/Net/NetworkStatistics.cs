namespace PvhVm.Core.Devices.Virtio.Net;

/// <summary>
/// One adapter's counters, as the host sees them: In is tap to guest, Out is guest to tap. Drops are frames lost on
/// the way: no guest RX buffer (or one too small), a full or failed tap, a malformed transmit request.
/// </summary>
internal sealed record NetworkStatistics(
    long PacketsIn, long BytesIn, long PacketsOut, long BytesOut, long DroppedIn, long DroppedOut, bool TapLost);
