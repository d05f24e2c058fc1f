namespace PvhVm.Core.Boot.Acpi;

/// <summary>Fixed-width ASCII fields of ACPI tables (signatures, OEM IDs), padded with spaces.</summary>
internal static class AcpiText
{
    public const string OemId = "PVHVM ";
    public const string CreatorId = "PVHV";

    public static void Copy(string text, Span<byte> field)
    {
        field.Fill((byte)' ');
        for (var i = 0; i < text.Length && i < field.Length; i++)
        {
            field[i] = (byte)text[i];
        }
    }
}
