using PvhVm.Core.Devices.Virtio;
using static PvhVm.Core.Devices.Virtio.VirtioMmioRegister;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// Any queue of a multi-queue device, driven as Linux's virtio_ring does, with several chains outstanding at once and
/// used elements taken in any order: what virtio-net and virtio-vsock need, where the device also fills queues from
/// its own threads. Areas lie at <see cref="AreaBase"/> plus 64 KiB per queue; data buffers at <see cref="DataArea"/>.
/// </summary>
internal sealed class TestQueue
{
    public const ulong AreaBase = 0x20_0000;
    public const ulong DataBase = 0x30_0000;
    public const ulong DataAreaSize = 0x4_0000;

    private readonly VirtioTestDriver _driver;
    private ushort _nextDescriptor;
    private ushort _availableIndex;
    private ushort _usedSeen;

    public TestQueue(VirtioTestDriver driver, ushort index, ushort size)
    {
        _driver = driver;
        Index = index;
        Size = size;
    }

    public ushort Index { get; }

    public ushort Size { get; }

    public ulong Descriptors => AreaBase + Index * 0x1_0000UL;

    public ulong Available => Descriptors + 0x4000;

    public ulong Used => Descriptors + 0x8000;

    /// <summary>Where this queue's data buffers go: 256 KiB of its own.</summary>
    public ulong DataArea => DataBase + Index * DataAreaSize;

    public void SetUp() => _driver.SetUpQueue(Size, Descriptors, Available, Used, Index);

    /// <summary>Lays the buffers out as one chain on the next free descriptors, makes it available (no notify); returns its head.</summary>
    public ushort Post(params TestBuffer[] buffers)
    {
        var head = _nextDescriptor;
        for (var i = 0; i < buffers.Length; i++)
        {
            var index = (ushort)((head + i) % Size);
            var last = i == buffers.Length - 1;
            var flags = (ushort)((last ? 0 : VirtioTestDriver.Next) | (buffers[i].DeviceWritable ? VirtioTestDriver.Write : 0));
            _driver.WriteDescriptor(Descriptors, index, buffers[i].Address, buffers[i].Length, flags, (ushort)((index + 1) % Size));
        }

        _nextDescriptor = (ushort)((head + buffers.Length) % Size);
        _driver.Memory.WriteUInt16(Available + 4 + 2UL * (uint)(_availableIndex % Size), head);
        _availableIndex++;
        Interlocked.MemoryBarrier();
        _driver.Memory.WriteUInt16(Available + 2, _availableIndex);
        return head;
    }

    public void Notify() => _driver.WriteRegister(QueueNotify, Index);

    public bool TryTakeUsed(out ushort head, out uint length)
    {
        head = 0;
        length = 0;
        if (_driver.Memory.ReadUInt16(Used + 2) == _usedSeen)
        {
            return false;
        }

        Interlocked.MemoryBarrier();
        var element = Used + 4 + 8UL * (uint)(_usedSeen % Size);
        head = (ushort)_driver.Memory.ReadUInt32(element);
        length = _driver.Memory.ReadUInt32(element + 4);
        _usedSeen++;
        return true;
    }

    /// <summary>The next used element, waiting for a device thread up to <paramref name="timeout"/>; null if none came.</summary>
    public (ushort Head, uint Length)? WaitUsed(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        do
        {
            if (TryTakeUsed(out var head, out var length))
            {
                return (head, length);
            }

            Thread.Sleep(1);
        }
        while (DateTime.UtcNow < deadline);
        return null;
    }
}
