namespace PvhVm.Core.Kernel;

/// <summary>One-line renderings of note values for tables.</summary>
internal static class NoteValueText
{
    public static string Format(object? value, byte[] descriptor) => value switch
    {
        ulong number => $"0x{number:x}",
        string text => text,
        string[] flags => string.Join('|', flags),
        ulong[] numbers => string.Join(' ', numbers.Select(n => $"0x{n:x}")),
        _ => Convert.ToHexString(descriptor).ToLowerInvariant(),
    };
}
