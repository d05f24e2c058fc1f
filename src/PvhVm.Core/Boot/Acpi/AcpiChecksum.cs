namespace PvhVm.Core.Boot.Acpi;

/// <summary>ACPI checksums: the bytes of a table (or of the RSDP's first 20 bytes) must sum to zero modulo 256.</summary>
internal static class AcpiChecksum
{
    /// <summary>Sum of the bytes modulo 256; zero for a correctly checksummed table.</summary>
    public static byte Sum(ReadOnlySpan<byte> data)
    {
        byte sum = 0;
        foreach (var b in data)
        {
            sum += b;
        }

        return sum;
    }

    /// <summary>Sets <paramref name="data"/>[<paramref name="checksumOffset"/>] so that the whole span sums to zero.</summary>
    public static void Apply(Span<byte> data, int checksumOffset)
    {
        data[checksumOffset] = 0;
        data[checksumOffset] = (byte)(0 - Sum(data));
    }
}
