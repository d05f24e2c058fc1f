using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Memory;
using static PvhVm.Core.Devices.Virtio.VirtioMmioRegister;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>Counts the edges a device raises.</summary>
internal sealed class CountingInterruptLine : IInterruptLine
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Trigger() => Interlocked.Increment(ref _count);
}

/// <summary>One buffer of a request as the test driver lays it out: where, how long, and who writes it.</summary>
internal readonly record struct TestBuffer(ulong Address, uint Length, bool DeviceWritable = false);

/// <summary>
/// A virtio-mmio driver as Linux's virtio_mmio and virtio_ring behave, written for tests: it talks to the transport
/// only through 32-bit register accesses and lays descriptors, rings and buffers out in a real <see cref="GuestMemory"/>.
/// Queue 0 lives at <see cref="DescriptorTable"/>, <see cref="AvailableRing"/> and <see cref="UsedRing"/>; data
/// buffers from <see cref="DataArea"/>. Requests are served synchronously, so each one reuses descriptors from 0.
/// </summary>
internal sealed class VirtioTestDriver : IDisposable
{
    public const ulong DescriptorTable = 0x1_0000;
    public const ulong AvailableRing = 0x2_0000;
    public const ulong UsedRing = 0x3_0000;
    public const ulong IndirectTable = 0x4_0000;
    public const ulong DataArea = 0x10_0000;

    public const ushort Next = 1;
    public const ushort Write = 2;
    public const ushort Indirect = 4;

    private ushort _availableIndex;
    private ushort _usedSeen;

    public VirtioTestDriver(IVirtioDevice device, ulong ramSize = 4 << 20)
    {
        Memory = GuestMemory.Allocate(ramSize);
        Interrupts = new CountingInterruptLine();
        Transport = new VirtioMmioTransport(device, Memory, Interrupts, NullLogger.Instance);
    }

    public GuestMemory Memory { get; }

    public CountingInterruptLine Interrupts { get; }

    public VirtioMmioTransport Transport { get; }

    public ushort QueueSize { get; private set; }

    public uint ReadRegister(uint offset)
    {
        Span<byte> value = stackalloc byte[4];
        Transport.Read(offset, value);
        return BinaryPrimitives.ReadUInt32LittleEndian(value);
    }

    public void WriteRegister(uint offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Transport.Write(offset, bytes);
    }

    public ulong ReadDeviceFeatures()
    {
        WriteRegister(DeviceFeaturesSel, 0);
        var low = ReadRegister(DeviceFeatures);
        WriteRegister(DeviceFeaturesSel, 1);
        return low | ((ulong)ReadRegister(DeviceFeatures) << 32);
    }

    /// <summary>Reset, ACKNOWLEDGE, DRIVER, features; returns whether the device kept FEATURES_OK.</summary>
    public bool Negotiate(ulong features)
    {
        WriteRegister(Status, 0);
        WriteRegister(Status, (uint)DeviceStatus.Acknowledge);
        WriteRegister(Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver));
        WriteRegister(DriverFeaturesSel, 0);
        WriteRegister(DriverFeatures, (uint)features);
        WriteRegister(DriverFeaturesSel, 1);
        WriteRegister(DriverFeatures, (uint)(features >> 32));
        WriteRegister(Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk));
        return ((DeviceStatus)ReadRegister(Status)).HasFlag(DeviceStatus.FeaturesOk);
    }

    /// <summary>Writes a queue's size and areas and QueueReady, as vm_setup_vq does (queue 0 at this driver's own areas unless told).</summary>
    public void SetUpQueue(ushort size, ulong descriptors = DescriptorTable, ulong available = AvailableRing, ulong used = UsedRing, uint queueIndex = 0)
    {
        if (queueIndex == 0)
        {
            QueueSize = size;
        }

        WriteRegister(QueueSel, queueIndex);
        WriteRegister(QueueNum, size);
        WriteRegister(QueueDescLow, (uint)descriptors);
        WriteRegister(QueueDescHigh, (uint)(descriptors >> 32));
        WriteRegister(QueueDriverLow, (uint)available);
        WriteRegister(QueueDriverHigh, (uint)(available >> 32));
        WriteRegister(QueueDeviceLow, (uint)used);
        WriteRegister(QueueDeviceHigh, (uint)(used >> 32));
        WriteRegister(QueueReady, 1);
    }

    public void DriverOk() =>
        WriteRegister(Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk));

    /// <summary>The whole bring-up, with every feature the device offers unless some are <paramref name="declined"/>, and queue 0 of <paramref name="queueSize"/>.</summary>
    public VirtioTestDriver Start(ushort queueSize = 16, ulong declined = 0)
    {
        Assert.True(Negotiate(ReadDeviceFeatures() & ~declined));
        SetUpQueue(queueSize);
        DriverOk();
        Assert.Equal(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk, Transport.Status);
        _availableIndex = _usedSeen = 0;
        return this;
    }

    public void WriteDescriptor(ulong table, uint index, ulong address, uint length, ushort flags, ushort next)
    {
        var descriptor = table + 16UL * index;
        Memory.WriteUInt64(descriptor, address);
        Memory.WriteUInt32(descriptor + 8, length);
        Memory.WriteUInt16(descriptor + 12, flags);
        Memory.WriteUInt16(descriptor + 14, next);
    }

    /// <summary>Lays <paramref name="buffers"/> out as one chain in <paramref name="table"/> from index 0.</summary>
    public void WriteChain(ulong table, IReadOnlyList<TestBuffer> buffers)
    {
        for (var i = 0; i < buffers.Count; i++)
        {
            var last = i == buffers.Count - 1;
            var flags = (ushort)((last ? 0 : Next) | (buffers[i].DeviceWritable ? Write : 0));
            WriteDescriptor(table, (uint)i, buffers[i].Address, buffers[i].Length, flags, (ushort)(last ? 0 : i + 1));
        }
    }

    /// <summary>Puts <paramref name="head"/> in the available ring, publishes it and notifies queue 0.</summary>
    public void Publish(ushort head, ushort indexAdvance = 1)
    {
        Memory.WriteUInt16(AvailableRing + 4 + 2UL * (uint)(_availableIndex % QueueSize), head);
        _availableIndex += indexAdvance;
        Memory.WriteUInt16(AvailableRing + 2, _availableIndex);
        WriteRegister(QueueNotify, 0);
    }

    /// <summary>A request through the descriptor table; returns the used element's length, or null if the device gave nothing back.</summary>
    public uint? Submit(params TestBuffer[] buffers)
    {
        WriteChain(DescriptorTable, buffers);
        Publish(0);
        return TakeUsed();
    }

    /// <summary>The same request through one indirect descriptor whose table is at <see cref="IndirectTable"/>.</summary>
    public uint? SubmitIndirect(params TestBuffer[] buffers)
    {
        WriteChain(IndirectTable, buffers);
        WriteDescriptor(DescriptorTable, 0, IndirectTable, (uint)(16 * buffers.Length), Indirect, 0);
        Publish(0);
        return TakeUsed();
    }

    /// <summary>The next used element's length (checking it names head 0), or null when the used index did not move.</summary>
    public uint? TakeUsed()
    {
        var usedIndex = Memory.ReadUInt16(UsedRing + 2);
        if (usedIndex == _usedSeen)
        {
            return null;
        }

        var element = UsedRing + 4 + 8UL * (uint)(_usedSeen % QueueSize);
        _usedSeen++;
        Assert.Equal(0u, Memory.ReadUInt32(element));
        return Memory.ReadUInt32(element + 4);
    }

    public bool NeedsReset => Transport.Status.HasFlag(DeviceStatus.DeviceNeedsReset);

    public void Dispose() => Memory.Dispose();
}
