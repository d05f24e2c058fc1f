using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// A split virtqueue (VIRTIO 1.2, section 2.7) as the device sees it: the three areas the driver placed in guest RAM,
/// and the device's own positions in the available and used rings. Every guest value is checked: the layout when the
/// queue goes ready, the available index and each chain as they are read.
/// </summary>
internal sealed class Virtqueue
{
    private const ushort AvailNoInterrupt = 1;

    private ushort _nextAvailable;

    public Virtqueue(ushort maxSize)
    {
        MaxSize = maxSize;
        Reset();
    }

    public ushort MaxSize { get; }

    public ushort Size { get; set; }

    public bool Ready { get; set; }

    public ulong DescriptorTable { get; set; }

    public ulong AvailableRing { get; set; }

    public ulong UsedRing { get; set; }

    /// <summary>The used index the device publishes next: how many chains it has returned, modulo 2^16.</summary>
    public ushort NextUsed { get; private set; }

    /// <summary>The queue's registers and positions, for a checkpoint.</summary>
    public VirtqueueState Save() => new(Size, Ready, DescriptorTable, AvailableRing, UsedRing, _nextAvailable, NextUsed);

    /// <summary>Takes a saved state; the transport checked it (a ready queue's layout) first.</summary>
    public void Restore(VirtqueueState state)
    {
        Size = state.Size;
        Ready = state.Ready;
        DescriptorTable = state.DescriptorTable;
        AvailableRing = state.AvailableRing;
        UsedRing = state.UsedRing;
        _nextAvailable = state.NextAvailable;
        NextUsed = state.NextUsed;
    }

    public void Reset()
    {
        Size = MaxSize;
        Ready = false;
        DescriptorTable = AvailableRing = UsedRing = 0;
        _nextAvailable = NextUsed = 0;
    }

    /// <summary>Null when size, alignment and placement of the three areas are valid (section 2.7, table of alignments); else why not.</summary>
    public string? CheckLayout(GuestMemory memory)
    {
        if (Size == 0 || Size > MaxSize || (Size & (Size - 1)) != 0)
        {
            return $"queue size {Size} is not a power of two between 1 and {MaxSize}";
        }

        return (DescriptorTable % 16, AvailableRing % 2, UsedRing % 4) != (0, 0, 0)
            ? $"queue areas 0x{DescriptorTable:x}/0x{AvailableRing:x}/0x{UsedRing:x} are misaligned (16/2/4)"
            : !memory.Contains(DescriptorTable, 16UL * Size) ? $"descriptor table at 0x{DescriptorTable:x} is not inside guest RAM"
            : !memory.Contains(AvailableRing, 6 + 2UL * Size) ? $"available ring at 0x{AvailableRing:x} is not inside guest RAM"
            : !memory.Contains(UsedRing, 6 + 8UL * Size) ? $"used ring at 0x{UsedRing:x} is not inside guest RAM"
            : null;
    }

    /// <summary>The next chain the driver made available, or false when there is none.</summary>
    public bool TryPop(GuestMemory memory, bool indirectAllowed, out DescriptorChain? chain)
    {
        chain = null;
        var availableIndex = memory.ReadUInt16(AvailableRing + 2);
        var pending = (ushort)(availableIndex - _nextAvailable);
        if (pending == 0)
        {
            return false;
        }

        if (pending > Size)
        {
            throw new VirtqueueException(
                $"available index {availableIndex} is {pending} ahead of the device's {_nextAvailable}, more than the queue of {Size}");
        }

        // The ring entry is read after the index that published it (the driver wrote them in the other order).
        Interlocked.MemoryBarrier();
        var head = memory.ReadUInt16(AvailableRing + 4 + 2UL * (uint)(_nextAvailable % Size));
        chain = DescriptorChain.Parse(memory, DescriptorTable, Size, head, indirectAllowed);
        _nextAvailable++;
        return true;
    }

    /// <summary>Returns a chain to the driver: the element first, then the index that publishes it.</summary>
    public void PushUsed(GuestMemory memory, ushort head, uint writtenLength)
    {
        var element = UsedRing + 4 + 8UL * (uint)(NextUsed % Size);
        memory.WriteUInt32(element, head);
        memory.WriteUInt32(element + 4, writtenLength);
        NextUsed++;
        Interlocked.MemoryBarrier();
        memory.WriteUInt16(UsedRing + 2, NextUsed);
    }

    /// <summary>
    /// Whether the driver wants an interrupt for the chains returned since <paramref name="usedBefore"/>: with
    /// EVENT_IDX, when they pass its used_event (vring_need_event); without, unless it set VIRTQ_AVAIL_F_NO_INTERRUPT.
    /// Read after the used index was published, with a full barrier between, so a driver that re-enables interrupts
    /// and then checks the ring misses nothing.
    /// </summary>
    public bool DriverWantsInterrupt(GuestMemory memory, ushort usedBefore, bool eventIndex)
    {
        Interlocked.MemoryBarrier();
        if (!eventIndex)
        {
            return (memory.ReadUInt16(AvailableRing) & AvailNoInterrupt) == 0;
        }

        var usedEvent = memory.ReadUInt16(AvailableRing + 4 + 2UL * Size);
        return (ushort)(NextUsed - usedEvent - 1) < (ushort)(NextUsed - usedBefore);
    }

    /// <summary>
    /// EVENT_IDX: asks to be notified at the next chain made available (avail_event), then looks again, so a chain
    /// published just before the request was visible is not left waiting for a notification that never comes.
    /// True when there is more to serve.
    /// </summary>
    public bool RequestNotificationAndRecheck(GuestMemory memory)
    {
        memory.WriteUInt16(UsedRing + 4 + 8UL * Size, _nextAvailable);
        Interlocked.MemoryBarrier();
        return memory.ReadUInt16(AvailableRing + 2) != _nextAvailable;
    }
}
