using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Memory;
using Xunit.Abstractions;
using static PvhVm.Core.Tests.Devices.Virtio.VirtioTestDriver;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// Seeded random queues, rings and descriptor tables through the transport, as a hostile driver would write them.
/// For every case: nothing is thrown out of the transport, every buffer a device is handed lies inside guest RAM, and
/// the device either served everything the driver published or is marked DEVICE_NEEDS_RESET. The campaign must
/// reach both outcomes, so it cannot pass by rejecting (or accepting) everything.
/// </summary>
public sealed class VirtqueueFuzzTests(ITestOutputHelper output)
{
    private const ulong RamSize = 0x20_0000;

    [Fact]
    public void ThreeThousandRandomQueuesNeverEscapeTheDevice() => Campaign(0, 3000);

    [Fact]
    [Trait("Category", "Slow")]
    public void TwoHundredThousandRandomQueuesNeverEscapeTheDevice() => Campaign(3000, 200_000);

    private void Campaign(int firstSeed, int cases)
    {
        int served = 0, reset = 0, buffers = 0;
        for (var seed = firstSeed; seed < firstSeed + cases; seed++)
        {
            var device = new RecordingDevice();
            using var driver = new VirtioTestDriver(device, RamSize);
            bool completed;
            try
            {
                completed = RunCase(new Random(seed), driver);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed}: {e}");
            }

            Assert.True(device.Violations.Count == 0, $"seed {seed}: {string.Join("; ", device.Violations)}");
            Assert.True(completed || driver.NeedsReset, $"seed {seed}: neither served everything nor marked DEVICE_NEEDS_RESET");
            served += completed && !driver.NeedsReset ? 1 : 0;
            reset += driver.NeedsReset ? 1 : 0;
            buffers += device.Buffers;
        }

        output.WriteLine($"{cases} cases: {served} served in full, {reset} DEVICE_NEEDS_RESET, {buffers} buffers handed to the device");
        Assert.True(served > cases / 20, $"only {served} of {cases} cases were served: the generator is too hostile to test the happy path");
        Assert.True(reset > cases / 20, $"only {reset} of {cases} cases were refused");
    }

    /// <summary>
    /// One driver, hostile to a degree drawn per case (from well-behaved to mostly garbage); true when every request
    /// published in the ring the device reads came back in the ring it writes.
    /// </summary>
    private static bool RunCase(Random random, VirtioTestDriver driver)
    {
        var wildness = new[] { 0.0, 0.01, 0.05, 0.2, 0.6 }[random.Next(5)];
        bool Wild() => random.NextDouble() < wildness;

        var offered = driver.ReadDeviceFeatures();
        driver.Negotiate((offered & (ulong)random.NextInt64()) | VirtioFeature.Version1);
        var size = Wild() ? (ushort)random.Next(0x1_0000) : (ushort)(1 << random.Next(9));
        // Now and then the device is told of rings somewhere else than where the driver writes: it must cope with what it finds.
        var (available, used) = (RingAddress(random, Wild(), AvailableRing), RingAddress(random, Wild(), UsedRing));
        driver.SetUpQueue(size, RingAddress(random, Wild(), DescriptorTable), available, used);
        driver.DriverOk();
        if (driver.NeedsReset)
        {
            return false;
        }

        var entries = (uint)Math.Min(size, (ushort)256);
        for (var i = 0u; i < entries; i++)
        {
            WriteDescriptor(random, Wild, driver, DescriptorTable, i, entries);
        }

        for (var i = 0u; i < 64; i++)
        {
            WriteDescriptor(random, Wild, driver, IndirectTable, i, 64);
        }

        driver.Memory.WriteUInt16(AvailableRing, (ushort)random.Next(2));
        var published = random.Next(1, 5);
        for (var i = 0; i < published; i++)
        {
            var head = Wild() ? (ushort)random.Next(0x1_0000) : (ushort)random.Next((int)entries);
            driver.Publish(head, Wild() ? (ushort)random.Next(0x1_0000) : (ushort)1);
        }

        return driver.Memory.ReadUInt16(used + 2) == driver.Memory.ReadUInt16(available + 2);
    }

    private static ulong RingAddress(Random random, bool wild, ulong usual) => !wild ? usual : random.Next(3) switch
    {
        0 => (ulong)random.NextInt64(),
        1 => RamSize - (ulong)random.Next(1, 64),
        _ => usual + (ulong)random.Next(1, 16),
    };

    /// <summary>A sane descriptor (a buffer in the data area, chained to the next, writable ones last) unless <paramref name="wild"/> says otherwise, field by field.</summary>
    private static void WriteDescriptor(Random random, Func<bool> wild, VirtioTestDriver driver, ulong table, uint index, uint entries)
    {
        var address = !wild() ? DataArea + (ulong)random.Next(0x1_0000) : random.Next(4) switch
        {
            0 => (ulong)random.NextInt64() * (ulong)random.Next(1, 3),
            1 => RamSize - (ulong)random.Next(0, 256),
            2 => ulong.MaxValue - (ulong)random.Next(0, 256),
            _ => IndirectTable + 16UL * (uint)random.Next(4),
        };
        var length = !wild() ? (uint)random.Next(0, 4096) : random.Next(3) switch
        {
            0 => (uint)random.NextInt64(uint.MaxValue),
            1 => 16u * (uint)random.Next(0, 80),
            _ => (uint)random.Next(0x10_0000),
        };
        var chained = index + 1 < entries && random.Next(3) != 0;
        var flags = (ushort)((chained ? Next : 0) | (index > entries / 2 ? Write : 0));
        var next = (ushort)(chained ? index + 1 : 0);
        if (wild())
        {
            flags = (ushort)random.Next(8);
        }

        if (wild())
        {
            next = random.Next(2) == 0 ? (ushort)random.Next(0x1_0000) : (ushort)random.Next((int)entries);
        }

        driver.WriteDescriptor(table, index, address, length, flags, next);
    }

    /// <summary>A device that checks what the transport hands it, then reads and writes every byte as a real one would.</summary>
    private sealed class RecordingDevice : IVirtioDevice
    {
        public List<string> Violations { get; } = [];

        public int Buffers { get; private set; }

        public VirtioDeviceType DeviceType => VirtioDeviceType.Block;

        public ulong Features => 0;

        public IReadOnlyList<ushort> QueueMaxSizes { get; } = [256];

        public void ReadConfig(uint offset, Span<byte> data) => data.Clear();

        public uint Handle(int queueIndex, DescriptorChain chain, GuestMemory memory)
        {
            foreach (var buffer in chain.Readable.Concat(chain.Writable))
            {
                Buffers++;
                if (!memory.Contains(buffer.Address, buffer.Length))
                {
                    Violations.Add($"buffer {buffer} outside RAM");
                }
            }

            var scratch = new byte[(int)Math.Min(chain.ReadableLength, RamSize)];
            chain.CopyFromReadable(memory, 0, scratch);
            var pattern = new byte[(int)Math.Min(chain.WritableLength, RamSize)];
            Array.Fill(pattern, (byte)0x5A);
            return (uint)chain.CopyToWritable(memory, 0, pattern);
        }
    }
}
