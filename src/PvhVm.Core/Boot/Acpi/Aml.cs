using System.Buffers.Binary;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// The few ACPI Machine Language encodings the DSDT needs (ACPI 6.5, section 20): scopes, devices, named objects and
/// resource templates. Each method returns the encoded bytes of one term.
/// </summary>
internal static class Aml
{
    private const byte ZeroOp = 0x00;
    private const byte NameOp = 0x08;
    private const byte BytePrefix = 0x0A;
    private const byte DWordPrefix = 0x0C;
    private const byte StringPrefix = 0x0D;
    private const byte ScopeOp = 0x10;
    private const byte BufferOp = 0x11;
    private const byte PackageOp = 0x12;
    private const byte ExtOpPrefix = 0x5B;
    private const byte DeviceOp = 0x82;
    private const byte RootChar = 0x5C;

    public static byte[] Zero => [ZeroOp];

    /// <summary>Scope (\path) { terms }, for a path of one name below the root such as _SB.</summary>
    public static byte[] RootScope(string name, params byte[][] terms)
        => [ScopeOp, .. WithPackageLength([RootChar, .. NameSeg(name), .. terms.SelectMany(t => t)])];

    /// <summary>Device (name) { terms }.</summary>
    public static byte[] Device(string name, params byte[][] terms)
        => [ExtOpPrefix, DeviceOp, .. WithPackageLength([.. NameSeg(name), .. terms.SelectMany(t => t)])];

    /// <summary>Name (name, value).</summary>
    public static byte[] Name(string name, byte[] value) => [NameOp, .. NameSeg(name), .. value];

    /// <summary>A string constant of printable ASCII, such as a _HID that is no EISA id ("LNRO0005").</summary>
    public static byte[] String(string value)
    {
        if (!value.All(c => c is >= ' ' and <= '~'))
        {
            throw new ArgumentException($"'{value}' is not printable ASCII.", nameof(value));
        }

        return [StringPrefix, .. value.Select(c => (byte)c), 0x00];
    }

    /// <summary>A byte constant (ByteConst: prefix and value).</summary>
    public static byte[] ByteConst(byte value) => [BytePrefix, value];

    /// <summary>Package () { elements }, for up to 255 elements.</summary>
    public static byte[] Package(params byte[][] elements)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elements.Length, byte.MaxValue);
        return [PackageOp, .. WithPackageLength([(byte)elements.Length, .. elements.SelectMany(e => e)])];
    }

    /// <summary>EisaId ("PNP0501"): three letters of five bits each and four hex digits, stored big-endian.</summary>
    public static byte[] EisaId(string id)
    {
        if (id.Length != 7 || !id[..3].All(char.IsAsciiLetterUpper) || !id[3..].All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"'{id}' is not an EISA id (three capital letters, four hex digits).", nameof(id));
        }

        var value = (uint)(id[0] - 0x40) << 26 | (uint)(id[1] - 0x40) << 21 | (uint)(id[2] - 0x40) << 16 | Convert.ToUInt32(id[3..], 16);
        var encoded = new byte[5];
        encoded[0] = DWordPrefix;
        BinaryPrimitives.WriteUInt32BigEndian(encoded.AsSpan(1), value);
        return encoded;
    }

    /// <summary>ResourceTemplate () { descriptors }: a buffer of resource descriptors closed by an end tag.</summary>
    public static byte[] ResourceTemplate(params byte[][] descriptors)
    {
        // End tag: small item 0xF, length 1; a checksum of zero means "not checked".
        byte[] body = [.. descriptors.SelectMany(d => d), 0x79, 0x00];
        if (body.Length > byte.MaxValue)
        {
            throw new ArgumentException("The resource template is longer than a byte-sized buffer length.", nameof(descriptors));
        }

        return [BufferOp, .. WithPackageLength([BytePrefix, (byte)body.Length, .. body])];
    }

    /// <summary>IO (Decode16, port, port, 1, length): a fixed range of I/O ports.</summary>
    public static byte[] IoPorts(ushort port, byte length)
        => [0x47, 0x01, (byte)port, (byte)(port >> 8), (byte)port, (byte)(port >> 8), 0x01, length];

    /// <summary>IRQNoFlags () { irq }: an ISA interrupt, edge-triggered, active-high.</summary>
    public static byte[] Irq(int irq)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(irq, 15);
        var mask = (ushort)(1 << irq);
        return [0x22, (byte)mask, (byte)(mask >> 8)];
    }

    /// <summary>Memory32Fixed (ReadWrite, base, length): a fixed range of 32-bit memory space.</summary>
    public static byte[] Memory32Fixed(uint baseAddress, uint length)
    {
        var descriptor = new byte[12];
        descriptor[0] = 0x86;
        descriptor[1] = 9;
        descriptor[3] = 0x01; // read-write
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor.AsSpan(4), baseAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor.AsSpan(8), length);
        return descriptor;
    }

    /// <summary>
    /// Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi }: the extended interrupt descriptor, which names
    /// a GSI of any number (IRQNoFlags covers only ISA IRQs 0-15).
    /// </summary>
    public static byte[] Interrupt(uint gsi)
    {
        var descriptor = new byte[9];
        descriptor[0] = 0x89;
        descriptor[1] = 6;
        descriptor[3] = 0x03; // consumer, edge-triggered, active-high, exclusive
        descriptor[4] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor.AsSpan(5), gsi);
        return descriptor;
    }

    /// <summary>Prefixes <paramref name="content"/> with its PkgLength, which counts its own bytes too.</summary>
    public static byte[] WithPackageLength(byte[] content)
    {
        for (var extra = 0; extra <= 3; extra++)
        {
            var total = content.Length + 1 + extra;
            if (extra == 0 ? total < 0x40 : total < 1 << (4 + 8 * extra))
            {
                var lead = new byte[1 + extra];
                lead[0] = extra == 0 ? (byte)total : (byte)(extra << 6 | total & 0x0F);
                for (var i = 1; i <= extra; i++)
                {
                    lead[i] = (byte)(total >> (4 + 8 * (i - 1)));
                }

                return [.. lead, .. content];
            }
        }

        throw new ArgumentException("AML package longer than 256 MiB.", nameof(content));
    }

    /// <summary>A four-character name segment, padded with underscores.</summary>
    private static byte[] NameSeg(string name)
    {
        if (name.Length is < 1 or > 4 || !(char.IsAsciiLetterUpper(name[0]) || name[0] == '_')
            || !name.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw new ArgumentException($"'{name}' is not an AML name segment.", nameof(name));
        }

        return [.. name.PadRight(4, '_').Select(c => (byte)c)];
    }
}
