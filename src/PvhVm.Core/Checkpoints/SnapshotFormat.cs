using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PvhVm.Core.Devices;
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
        reader.End();
        return new MachineSnapshot
        {
            ClockNanoseconds = clock,
            Irqchips = irqchips,
            Vcpus = vcpus,
            Serial = serial,
            I8042 = i8042,
            ConsolePartialLine = partial,
        };
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
