using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using PvhVm.Core.Devices;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Net;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Checkpoints;

/// <summary>
/// The state file (state.bin): a <see cref="MachineSnapshot"/> as little-endian fields and KVM's structs as KVM gave
/// them, each count before its items. The reader takes untrusted bytes: every count is bounded, every read checked,
/// nothing may follow the last field; any violation is a <see cref="CheckpointException"/> of kind StateCorrupt.
/// </summary>
internal static class SnapshotFormat
{
    public const int Version = 1;

    /// <summary>Larger than any state a VM of <see cref="Layout.MaxProcessors"/> vCPUs can have; a bigger file is refused unread.</summary>
    public const int MaxStateBytes = 4 << 20;

    private const int MaxMsrs = 1024;

    /// <summary>The largest configuration space a device here has (virtio-blk's 60 bytes), with room.</summary>
    private const int MaxConfigBytes = 256;

    /// <summary>A host path (an image, the vsock socket) or a tap name, in UTF-8: PATH_MAX.</summary>
    private const int MaxHostPathBytes = 4096;

    private const int MaxSerialBytes = 20;
    private static readonly byte[] Magic = "PVHSTATE"u8.ToArray();

    public static byte[] Write(MachineSnapshot snapshot)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(snapshot.ClockNanoseconds);
        WriteArray(writer, snapshot.Irqchips);
        writer.Write(snapshot.Vcpus.Length);
        foreach (var vcpu in snapshot.Vcpus)
        {
            writer.Write(vcpu.Index);
            writer.Write(vcpu.MpState);
            WriteStruct(writer, vcpu.Regs);
            WriteStruct(writer, vcpu.Sregs);
            WriteStruct(writer, vcpu.Fpu);
            WriteStruct(writer, vcpu.Xsave);
            WriteStruct(writer, vcpu.Xcrs);
            WriteStruct(writer, vcpu.Lapic);
            WriteStruct(writer, vcpu.Events);
            WriteStruct(writer, vcpu.DebugRegs);
            WriteArray(writer, vcpu.Msrs);
            WriteArray(writer, vcpu.Cpuid);
        }

        var serial = snapshot.Serial;
        writer.Write([serial.InterruptEnable, serial.LineControl, serial.ModemControl, serial.Scratch, serial.DivisorLow, serial.DivisorHigh]);
        writer.Write(serial.FifoEnabled);
        writer.Write(serial.TransmitterEmptyPending);
        writer.Write(serial.IrqLevel);
        WriteArray(writer, serial.Received);
        var i8042 = snapshot.I8042;
        writer.Write([i8042.Control, i8042.OutputPort]);
        WriteOptional(writer, i8042.Output);
        WriteOptional(writer, i8042.PendingCommand);
        WriteArray(writer, snapshot.ConsolePartialLine);
        writer.Write(snapshot.VirtioDevices.Length);
        foreach (var device in snapshot.VirtioDevices)
        {
            WriteVirtioDevice(writer, device);
        }

        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Reads a state file of a VM with <paramref name="processorCount"/> vCPUs (the manifest's, itself checked).</summary>
    public static MachineSnapshot Read(ReadOnlySpan<byte> bytes, int processorCount, string path)
    {
        var reader = new StateReader(bytes, path);
        if (!reader.Bytes(Magic.Length).SequenceEqual(Magic))
        {
            throw reader.Corrupt("it does not start with the state file's magic");
        }

        var version = reader.Int32();
        if (version != Version)
        {
            throw new CheckpointException(CheckpointErrorKind.UnsupportedVersion, path, $"state file version {version}; this engine reads version {Version}");
        }

        var clock = reader.UInt64();
        var irqchips = reader.Array<KvmIrqchip>(MachineSnapshot.IrqchipIds.Length, "irqchips");
        if (!irqchips.Select(c => c.ChipId).SequenceEqual(MachineSnapshot.IrqchipIds))
        {
            throw reader.Corrupt("the irqchip parts are not the PIC pair and the IOAPIC, in order");
        }

        var vcpuCount = reader.Int32();
        if (vcpuCount != processorCount)
        {
            throw reader.Corrupt($"it holds {vcpuCount} vCPUs; the manifest says {processorCount}");
        }

        var vcpus = new VcpuSnapshot[vcpuCount];
        for (var i = 0; i < vcpuCount; i++)
        {
            var index = reader.Int32();
            if (index != i)
            {
                throw reader.Corrupt($"vCPU {i} is numbered {index}");
            }

            vcpus[i] = new VcpuSnapshot
            {
                Index = index,
                MpState = reader.UInt32(),
                Regs = reader.Struct<KvmRegs>(),
                Sregs = reader.Struct<KvmSregs>(),
                Fpu = reader.Struct<KvmFpu>(),
                Xsave = reader.Struct<KvmXsave>(),
                Xcrs = reader.Struct<KvmXcrs>(),
                Lapic = reader.Struct<KvmLapicState>(),
                Events = reader.Struct<KvmVcpuEvents>(),
                DebugRegs = reader.Struct<KvmDebugRegs>(),
                Msrs = reader.Array<KvmMsrEntry>(MaxMsrs, "MSRs"),
                Cpuid = reader.Array<KvmCpuidEntry2>(KvmCpuidReader.MaxEntries, "CPUID entries"),
            };
        }

        var registers = reader.Bytes(6);
        var serial = new UartSnapshot(registers[0], registers[1], registers[2], registers[3], registers[4], registers[5],
            reader.Boolean(), reader.Boolean(), reader.Boolean(), reader.Array<byte>(Uart16550.ReceiveCapacity, "UART received bytes"));
        var i8042Registers = reader.Bytes(2);
        var i8042 = new I8042Snapshot(i8042Registers[0], i8042Registers[1], reader.Optional(), reader.Optional());
        var partial = reader.Array<byte>(Machine.ConsoleLog.DefaultMaxLineLength, "console line bytes");
        var virtioCount = reader.Int32();
        if (virtioCount is < 0 or > Layout.MaxVirtioDevices)
        {
            throw reader.Corrupt($"it counts {virtioCount} virtio devices; at most {Layout.MaxVirtioDevices} are possible");
        }

        var virtioDevices = new VirtioDeviceSnapshot[virtioCount];
        for (var i = 0; i < virtioCount; i++)
        {
            virtioDevices[i] = ReadVirtioDevice(ref reader);
            if (i > 0 && (VirtioDeviceSnapshot.SlotRank(virtioDevices[i].Type) < VirtioDeviceSnapshot.SlotRank(virtioDevices[i - 1].Type)
                || (virtioDevices[i].Type is VirtioDeviceType.Entropy or VirtioDeviceType.Vsock && virtioDevices[i - 1].Type == virtioDevices[i].Type)))
            {
                throw reader.Corrupt("the virtio devices are not disks, one entropy source, network adapters and one vsock device, in that order");
            }
        }

        reader.End();
        return new MachineSnapshot
        {
            ClockNanoseconds = clock,
            Irqchips = irqchips,
            Vcpus = vcpus,
            Serial = serial,
            I8042 = i8042,
            ConsolePartialLine = partial,
            VirtioDevices = virtioDevices,
        };
    }

    private static void WriteVirtioDevice(BinaryWriter writer, VirtioDeviceSnapshot device)
    {
        writer.Write((uint)device.Type);
        var transport = device.Transport;
        writer.Write(transport.Status);
        writer.Write(transport.DeviceFeaturesSelect);
        writer.Write(transport.DriverFeaturesSelect);
        writer.Write(transport.DriverFeatures);
        writer.Write(transport.QueueSelect);
        writer.Write(transport.InterruptStatus);
        writer.Write(transport.ConfigGeneration);
        writer.Write(transport.Queues.Length);
        foreach (var queue in transport.Queues)
        {
            writer.Write(queue.Size);
            writer.Write(queue.Ready);
            writer.Write(queue.DescriptorTable);
            writer.Write(queue.AvailableRing);
            writer.Write(queue.UsedRing);
            writer.Write(queue.NextAvailable);
            writer.Write(queue.NextUsed);
        }

        WriteArray(writer, device.Config);
        WriteArray(writer, Encoding.UTF8.GetBytes(device.HostPath));
        writer.Write(device.ReadOnly);
        WriteArray(writer, Encoding.ASCII.GetBytes(device.Serial));
    }

    private static VirtioDeviceSnapshot ReadVirtioDevice(ref StateReader reader)
    {
        var type = (VirtioDeviceType)reader.UInt32();
        if (!Enum.IsDefined(type))
        {
            throw reader.Corrupt($"virtio device type {(uint)type} is not one PvhVm has");
        }

        var (status, deviceSelect, driverSelect, driverFeatures) = (reader.UInt32(), reader.UInt32(), reader.UInt32(), reader.UInt64());
        var (queueSelect, interruptStatus, generation) = (reader.UInt32(), reader.UInt32(), reader.UInt32());
        var queueCount = reader.Int32();
        if (queueCount != VirtioDeviceSnapshot.QueueCountOf(type))
        {
            throw reader.Corrupt($"a {type} device with {queueCount} queues; it has {VirtioDeviceSnapshot.QueueCountOf(type)}");
        }

        var queues = new VirtqueueState[queueCount];
        for (var q = 0; q < queueCount; q++)
        {
            queues[q] = new VirtqueueState(reader.Struct<ushort>(), reader.Boolean(), reader.UInt64(), reader.UInt64(), reader.UInt64(),
                reader.Struct<ushort>(), reader.Struct<ushort>());
        }

        var transport = new VirtioTransportState(status, deviceSelect, driverSelect, driverFeatures, queueSelect, interruptStatus, generation, queues);
        var config = reader.Array<byte>(MaxConfigBytes, "configuration bytes");
        var hostPath = reader.Text(MaxHostPathBytes, "host path bytes", Encoding.UTF8);
        var readOnly = reader.Boolean();
        var serial = reader.Text(MaxSerialBytes, "serial bytes", Encoding.ASCII);
        if ((type == VirtioDeviceType.Entropy) != (hostPath.Length == 0) || hostPath.Contains('\0'))
        {
            throw reader.Corrupt($"a {type} device with host path '{hostPath}'");
        }

        if (type == VirtioDeviceType.Network && !Tap.IsValidName(hostPath))
        {
            throw reader.Corrupt($"a network adapter's tap name '{hostPath}' is not one a tap can have");
        }

        if (serial.Any(c => c is < ' ' or > '~'))
        {
            throw reader.Corrupt("a disk serial holds a character that is not printable ASCII");
        }

        return new VirtioDeviceSnapshot(type, transport, config, hostPath, readOnly, serial);
    }

    private static void WriteStruct<T>(BinaryWriter writer, T value)
        where T : unmanaged => writer.Write(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    private static void WriteArray<T>(BinaryWriter writer, T[] items)
        where T : unmanaged
    {
        writer.Write(items.Length);
        writer.Write(MemoryMarshal.AsBytes(items.AsSpan()));
    }

    private static void WriteOptional(BinaryWriter writer, byte? value)
    {
        writer.Write(value.HasValue);
        writer.Write(value ?? 0);
    }

    /// <summary>Checked reads from the state file's bytes.</summary>
    private ref struct StateReader(ReadOnlySpan<byte> bytes, string path)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count > _bytes.Length - _position)
            {
                throw Corrupt($"it ends at byte {_bytes.Length}, inside a field of {count} bytes at {_position}");
            }

            var span = _bytes.Slice(_position, count);
            _position += count;
            return span;
        }

        public T Struct<T>()
            where T : unmanaged => MemoryMarshal.Read<T>(Bytes(Unsafe.SizeOf<T>()));

        public int Int32() => Struct<int>();

        public uint UInt32() => Struct<uint>();

        public ulong UInt64() => Struct<ulong>();

        public bool Boolean() => Bytes(1)[0] switch
        {
            0 => false,
            1 => true,
            var b => throw Corrupt($"a flag holds {b}"),
        };

        /// <summary>Counted bytes in <paramref name="encoding"/>, which must decode without a replacement.</summary>
        public string Text(int max, string what, Encoding encoding)
        {
            var bytes = Array<byte>(max, what);
            try
            {
                return Encoding.GetEncoding(encoding.CodePage, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw Corrupt($"{what} are not valid {encoding.WebName}");
            }
        }

        public byte? Optional()
        {
            var present = Boolean();
            var value = Bytes(1)[0];
            return present ? value : null;
        }

        public T[] Array<T>(int max, string what)
            where T : unmanaged
        {
            var count = Int32();
            if (count < 0 || count > max)
            {
                throw Corrupt($"it counts {count} {what}; at most {max} are possible");
            }

            return MemoryMarshal.Cast<byte, T>(Bytes(count * Unsafe.SizeOf<T>())).ToArray();
        }

        public readonly void End()
        {
            if (_position != _bytes.Length)
            {
                throw Corrupt($"{_bytes.Length - _position} bytes follow its last field");
            }
        }

        public readonly CheckpointException Corrupt(string problem)
            => new(CheckpointErrorKind.StateCorrupt, path, $"the state file is corrupt: {problem}.");
    }
}
