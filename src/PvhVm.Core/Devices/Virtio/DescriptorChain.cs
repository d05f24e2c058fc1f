using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// One request the driver made available: a chain of descriptors, direct or through one indirect table (VIRTIO 1.2,
/// section 2.7.5), walked and checked before a device sees it. Every buffer lies inside guest RAM, device-readable
/// buffers all come before device-writable ones, and the chain is no longer than the queue (which also ends loops).
/// </summary>
internal sealed class DescriptorChain
{
    private const ulong DescriptorSize = 16;
    private const ushort FlagNext = 1;
    private const ushort FlagWrite = 2;
    private const ushort FlagIndirect = 4;

    private readonly List<GuestBuffer> _readable = [];
    private readonly List<GuestBuffer> _writable = [];

    private DescriptorChain(ushort head)
    {
        Head = head;
    }

    /// <summary>The head descriptor's index: what the used ring returns to the driver.</summary>
    public ushort Head { get; }

    public IReadOnlyList<GuestBuffer> Readable => _readable;

    public IReadOnlyList<GuestBuffer> Writable => _writable;

    public ulong ReadableLength { get; private set; }

    public ulong WritableLength { get; private set; }

    /// <summary>
    /// Walks the chain starting at <paramref name="head"/> of the descriptor table at <paramref name="table"/>
    /// (<paramref name="queueSize"/> entries, already checked to be in RAM). Throws <see cref="VirtqueueException"/> or
    /// <see cref="GuestMemoryException"/> for a chain the driver had no right to make.
    /// </summary>
    internal static DescriptorChain Parse(GuestMemory memory, ulong table, ushort queueSize, ushort head, bool indirectAllowed)
    {
        if (head >= queueSize)
        {
            throw new VirtqueueException($"head descriptor {head} is outside the queue of {queueSize}");
        }

        var chain = new DescriptorChain(head);
        var tableAddress = table;
        uint tableEntries = queueSize;
        uint index = head;
        var inIndirectTable = false;

        // The spec forbids chains longer than the queue (2.7.5.3.1), indirect entries included; counting every
        // descriptor read therefore also ends any loop, in the ring or in an indirect table.
        for (var remaining = (int)queueSize; ; remaining--)
        {
            if (remaining == 0)
            {
                throw new VirtqueueException($"descriptor chain from {head} is longer than the queue of {queueSize} (a loop?)");
            }

            var descriptor = tableAddress + index * DescriptorSize;
            var address = memory.ReadUInt64(descriptor);
            var length = memory.ReadUInt32(descriptor + 8);
            var flags = memory.ReadUInt16(descriptor + 12);
            var next = memory.ReadUInt16(descriptor + 14);

            if ((flags & FlagIndirect) != 0)
            {
                CheckIndirect(memory, address, length, flags, inIndirectTable, indirectAllowed);
                tableAddress = address;
                tableEntries = length / (uint)DescriptorSize;
                index = 0;
                inIndirectTable = true;
                continue;
            }

            if (!memory.Contains(address, length))
            {
                throw new VirtqueueException($"descriptor {index} buffer [0x{address:x}, +0x{length:x}) is not inside guest RAM");
            }

            chain.Add(new GuestBuffer(address, length), (flags & FlagWrite) != 0);
            if ((flags & FlagNext) == 0)
            {
                return chain;
            }

            if (next >= tableEntries)
            {
                throw new VirtqueueException($"descriptor {index} links to {next}, outside its table of {tableEntries}");
            }

            index = next;
        }
    }

    /// <summary>Copies readable bytes from <paramref name="offset"/> on; returns how many there were.</summary>
    public int CopyFromReadable(GuestMemory memory, ulong offset, Span<byte> destination) =>
        Copy(memory, _readable, offset, destination, toGuest: false);

    /// <summary>Copies into the writable buffers from <paramref name="offset"/> on; returns how many bytes fitted.</summary>
    public int CopyToWritable(GuestMemory memory, ulong offset, Span<byte> source) =>
        Copy(memory, _writable, offset, source, toGuest: true);

    /// <summary>The parts of <paramref name="buffers"/> covering [offset, offset+length) of their concatenation.</summary>
    public static IEnumerable<GuestBuffer> Slice(IReadOnlyList<GuestBuffer> buffers, ulong offset, ulong length)
    {
        foreach (var buffer in buffers)
        {
            if (length == 0)
            {
                yield break;
            }

            if (offset >= buffer.Length)
            {
                offset -= buffer.Length;
                continue;
            }

            var take = Math.Min(buffer.Length - offset, length);
            yield return new GuestBuffer(buffer.Address.Value + offset, (uint)take);
            length -= take;
            offset = 0;
        }
    }

    private static int Copy(GuestMemory memory, IReadOnlyList<GuestBuffer> buffers, ulong offset, Span<byte> host, bool toGuest)
    {
        var copied = 0;
        foreach (var piece in Slice(buffers, offset, (ulong)host.Length))
        {
            var hostPart = host.Slice(copied, (int)piece.Length);
            var guestPart = memory.GetSpan(piece.Address, (int)piece.Length);
            (toGuest ? hostPart : guestPart).CopyTo(toGuest ? guestPart : hostPart);
            copied += (int)piece.Length;
        }

        return copied;
    }

    private static void CheckIndirect(GuestMemory memory, ulong address, uint length, ushort flags, bool inIndirectTable, bool indirectAllowed)
    {
        if (!indirectAllowed)
        {
            throw new VirtqueueException("indirect descriptor without VIRTIO_F_INDIRECT_DESC negotiated");
        }

        if (inIndirectTable)
        {
            throw new VirtqueueException("indirect table inside an indirect table");
        }

        if ((flags & FlagNext) != 0)
        {
            throw new VirtqueueException("indirect descriptor also flagged NEXT");
        }

        if (length == 0 || length % DescriptorSize != 0)
        {
            throw new VirtqueueException($"indirect table of {length} bytes is not a whole number of descriptors");
        }

        if (!memory.Contains(address, length))
        {
            throw new VirtqueueException($"indirect table [0x{address:x}, +0x{length:x}) is not inside guest RAM");
        }
    }

    private void Add(GuestBuffer buffer, bool writable)
    {
        if (writable)
        {
            _writable.Add(buffer);
            WritableLength += buffer.Length;
            return;
        }

        if (_writable.Count != 0)
        {
            throw new VirtqueueException("device-readable descriptor after a device-writable one");
        }

        _readable.Add(buffer);
        ReadableLength += buffer.Length;
    }
}
