namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>What the muxer must do after a connection took a guest packet; several may apply.</summary>
[Flags]
internal enum GuestPacketOutcome
{
    None = 0,

    /// <summary>The guest accepted a host connection (counted as opened).</summary>
    Opened = 1,

    /// <summary>A packet out of turn: counted as malformed.</summary>
    Malformed = 2,

    /// <summary>The guest sent past the credit the device gave it: counted as refused.</summary>
    OverCredit = 4,

    /// <summary>End the connection and send the guest an RST.</summary>
    Reset = 8,

    /// <summary>End the connection; the guest already knows (it sent the RST).</summary>
    Close = 16,

    /// <summary>Send the guest a CREDIT_UPDATE.</summary>
    CreditUpdate = 32,
}
