using System.Buffers.Binary;

namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// struct virtio_vsock_hdr (44 bytes, little-endian), the head of every packet both ways: addresses, payload length,
/// type and operation, and the sender's receive credit (buf_alloc, fwd_cnt).
/// </summary>
internal readonly record struct VsockHeader(
    ulong SourceCid, ulong DestinationCid, uint SourcePort, uint DestinationPort, uint Length, ushort Type, VsockOp Op,
    uint Flags, uint BufferAllocation, uint ForwardCount)
{
    public const int Size = 44;
    public const ushort TypeStream = 1;

    /// <summary>SHUTDOWN flags: the sender will receive no more / send no more.</summary>
    public const uint ShutdownReceive = 1;
    public const uint ShutdownSend = 2;

    public static VsockHeader Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..]),
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]),
        BinaryPrimitives.ReadUInt16LittleEndian(bytes[28..]),
        (VsockOp)BinaryPrimitives.ReadUInt16LittleEndian(bytes[30..]),
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[32..]),
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[36..]),
        BinaryPrimitives.ReadUInt32LittleEndian(bytes[40..]));

    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, SourceCid);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], DestinationCid);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], SourcePort);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[20..], DestinationPort);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], Length);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[28..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[30..], (ushort)Op);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[32..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[36..], BufferAllocation);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[40..], ForwardCount);
    }
}
