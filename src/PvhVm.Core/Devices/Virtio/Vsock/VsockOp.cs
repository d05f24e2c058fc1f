namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>Packet operations (VIRTIO 1.2, section 5.10.6).</summary>
internal enum VsockOp : ushort
{
    Invalid = 0,
    Request = 1,
    Response = 2,
    Reset = 3,
    Shutdown = 4,
    ReadWrite = 5,
    CreditUpdate = 6,
    CreditRequest = 7,
}
