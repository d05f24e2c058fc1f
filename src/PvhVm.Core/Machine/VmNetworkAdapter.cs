namespace PvhVm.Core.Machine;

/// <summary>
/// A network adapter of a VM as it is now: its tap and address, and the traffic since the VM started (zeros before,
/// the final counts once stopped). In is from the tap to the guest, Out from the guest to the tap.
/// </summary>
/// <param name="DroppedIn">Frames from the tap the guest had no buffer for (not reading, or its driver not up).</param>
/// <param name="DroppedOut">Frames from the guest that did not reach the tap: malformed, the tap full or gone.</param>
/// <param name="TapLost">The tap was deleted while the VM ran: the adapter carries nothing more.</param>
public sealed record VmNetworkAdapter(
    string VmName,
    string TapName,
    string MacAddress,
    long PacketsIn,
    long BytesIn,
    long PacketsOut,
    long BytesOut,
    long DroppedIn,
    long DroppedOut,
    bool TapLost);
