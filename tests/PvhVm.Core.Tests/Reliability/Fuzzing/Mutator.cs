using System.Buffers.Binary;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>
/// Seeded AFL-style mutations, most of them aimed at the fields the parsers read: bit flips, random bytes,
/// interesting values, length-field inflation, offsets pointed past the end, truncation, chunk deletion and
/// duplication, and splicing with another input. The same seed always gives the same sequence of inputs.
/// </summary>
internal sealed class Mutator(int seed)
{
    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 3, 4, 7, 8, 0xC, 0x10, 0x20, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF0, 0xFFFF_FFFC, 0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, ulong.MaxValue,
    ];

    private readonly Random _random = new(seed);

    /// <summary>A mutated copy of <paramref name="input"/>: mostly one or two mutations, up to four; spliced with <paramref name="other"/> at times.</summary>
    public byte[] Mutate(FuzzSeed input, FuzzSeed other)
    {
        var bytes = (byte[])input.Bytes.Clone();
        int count = _random.Next(4) switch { 0 or 1 => 1, 2 => 2, _ => 3 + _random.Next(2) };
        for (int i = 0; i < count && bytes.Length > 0; i++)
        {
            bytes = _random.Next(100) switch
            {
                < 24 => InterestingValue(bytes, PickField(input)),
                < 36 => Inflate(bytes, PickField(input)),
                < 50 => MutateRecord(bytes, input),
                < 65 => FlipBit(bytes, PickPosition(bytes, input)),
                < 76 => SetByte(bytes, PickPosition(bytes, input)),
                < 80 => Truncate(bytes),
                < 85 => DeleteChunk(bytes),
                < 90 => DuplicateChunk(bytes),
                < 95 => Splice(bytes, other.Bytes),
                _ => RandomWord(bytes, PickField(input)),
            };
        }

        return bytes;
    }

    private FuzzField? PickField(FuzzSeed input) => input.Fields.Count == 0 ? null : input.Fields[_random.Next(input.Fields.Count)];

    // Three in four mutations of raw bytes land on a field the parser reads; the rest anywhere.
    private int PickPosition(byte[] bytes, FuzzSeed input)
        => PickField(input) is { } field && _random.Next(4) != 0 ? Math.Min(field.Offset + _random.Next(field.Width), bytes.Length - 1) : _random.Next(bytes.Length);

    // Type and flag fields get small numbers half the time: the values that switch a parser from one path to another
    // (PT_NULL, PT_LOAD, PT_NOTE, SHT_NULL, SHT_NOTE, SHT_NOBITS, ELF class 1 and 2).
    private byte[] InterestingValue(byte[] bytes, FuzzField? field)
        => field is not { } f ? bytes
            : Write(bytes, f, f.Role == FieldRole.Header && _random.Next(2) == 0 ? (ulong)_random.Next(9) : Interesting[_random.Next(Interesting.Length)]);

    // Sizes just past the file, far past it, and at the limits of the field; offsets at or past the end.
    private byte[] Inflate(byte[] bytes, FuzzField? field)
    {
        if (field is not { } f)
        {
            return bytes;
        }

        ulong current = Read(bytes, f);
        ulong value = _random.Next(6) switch
        {
            0 => (ulong)bytes.Length,
            1 => (ulong)bytes.Length + (ulong)_random.Next(1, 64),
            2 => current + (ulong)_random.Next(1, 4096),
            3 => current * 2 + 1,
            4 => current << (8 * _random.Next(1, 4)),
            _ => f.Width == 8 ? 0x1_0000_0000UL + current : 0xFFFF_FFFFUL - (ulong)_random.Next(16),
        };
        return Write(bytes, f, value);
    }

    // Two or three fields of one record at once (a section's type and its offset, a note's two sizes), since parsers
    // check one field only in the light of another.
    private byte[] MutateRecord(byte[] bytes, FuzzSeed input)
    {
        if (PickField(input) is not { } chosen)
        {
            return bytes;
        }

        var record = input.Fields.Where(f => f.Record == chosen.Record).ToList();
        for (int i = 0, count = 2 + _random.Next(2); i < count; i++)
        {
            var field = record[_random.Next(record.Count)];
            bytes = _random.Next(2) == 0 ? InterestingValue(bytes, field) : Inflate(bytes, field);
        }

        return bytes;
    }

    private byte[] RandomWord(byte[] bytes, FuzzField? field)
        => field is { } f ? Write(bytes, f, (ulong)_random.NextInt64()) : bytes;

    private byte[] FlipBit(byte[] bytes, int position)
    {
        bytes[position] ^= (byte)(1 << _random.Next(8));
        return bytes;
    }

    private byte[] SetByte(byte[] bytes, int position)
    {
        bytes[position] = (byte)_random.Next(256);
        return bytes;
    }

    private byte[] Truncate(byte[] bytes) => bytes[.._random.Next(bytes.Length)];

    private byte[] DeleteChunk(byte[] bytes)
    {
        int start = _random.Next(bytes.Length);
        int length = _random.Next(1, Math.Min(256, bytes.Length - start) + 1);
        return [.. bytes.AsSpan(0, start), .. bytes.AsSpan(start + length)];
    }

    private byte[] DuplicateChunk(byte[] bytes)
    {
        int start = _random.Next(bytes.Length);
        int length = _random.Next(1, Math.Min(256, bytes.Length - start) + 1);
        int at = _random.Next(bytes.Length);
        return [.. bytes.AsSpan(0, at), .. bytes.AsSpan(start, length), .. bytes.AsSpan(at)];
    }

    // The head of one input over the tail of another, at the same offset, as AFL splices.
    private byte[] Splice(byte[] bytes, byte[] other)
    {
        int cut = _random.Next(Math.Min(bytes.Length, other.Length) + 1);
        return [.. bytes.AsSpan(0, cut), .. other.AsSpan(cut)];
    }

    private static ulong Read(byte[] bytes, FuzzField f)
    {
        if (f.Offset + f.Width > bytes.Length)
        {
            return 0;
        }

        var span = bytes.AsSpan(f.Offset, f.Width);
        return (f.Width, f.BigEndian) switch
        {
            (1, _) => span[0],
            (2, false) => BinaryPrimitives.ReadUInt16LittleEndian(span),
            (2, true) => BinaryPrimitives.ReadUInt16BigEndian(span),
            (4, false) => BinaryPrimitives.ReadUInt32LittleEndian(span),
            (4, true) => BinaryPrimitives.ReadUInt32BigEndian(span),
            (_, false) => BinaryPrimitives.ReadUInt64LittleEndian(span),
            _ => BinaryPrimitives.ReadUInt64BigEndian(span),
        };
    }

    private static byte[] Write(byte[] bytes, FuzzField f, ulong value)
    {
        if (f.Offset + f.Width > bytes.Length)
        {
            return bytes;
        }

        var span = bytes.AsSpan(f.Offset, f.Width);
        switch (f.Width, f.BigEndian)
        {
            case (1, _): span[0] = (byte)value; break;
            case (2, false): BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
            case (2, true): BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)value); break;
            case (4, false): BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            case (4, true): BinaryPrimitives.WriteUInt32BigEndian(span, (uint)value); break;
            case (_, false): BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
            default: BinaryPrimitives.WriteUInt64BigEndian(span, value); break;
        }

        return bytes;
    }
}
