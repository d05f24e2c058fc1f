using System.Text;

namespace PvhVm.Core.Kernel;

/// <summary>Finds the "Linux version X.Y..." banner (init/version.c linux_banner) in an ELF image.</summary>
internal static class LinuxBanner
{
    private const int MaximumLength = 512;
    private const int MaximumCandidates = 16;
    private static ReadOnlySpan<byte> Prefix => "Linux version "u8;

    /// <summary>Searches .rodata when the image names it (the banner lives there), else the whole image.</summary>
    public static string? Find(ReadOnlySpan<byte> image, ElfLayout layout)
    {
        // The layout reader checks file ranges only for sections with contents: an SHT_NULL .rodata may point anywhere.
        int length = image.Length;
        var rodata = layout.Sections.FirstOrDefault(s => s.Name == ".rodata" && s.Type != ElfSection.ShtNobits
            && s.Offset <= (ulong)length && s.Size <= (ulong)length - s.Offset);
        return (rodata is null ? null : Search(image.Slice((int)rodata.Offset, (int)rodata.Size))) ?? Search(image);
    }

    // Kernels since 6.1 also keep a placeholder banner with an empty build number ("# SMP") from init/version.c;
    // the one the kernel prints (init/version-timestamp.c) has "#<number>". Prefer that, else the first found.
    private static string? Search(ReadOnlySpan<byte> bytes)
    {
        string? first = null;
        int from = 0;
        for (int found = 0; found < MaximumCandidates; found++)
        {
            int at = bytes[from..].IndexOf(Prefix);
            if (at < 0)
            {
                break;
            }

            int start = from + at;
            from = start + Prefix.Length;
            var text = bytes.Slice(start, Math.Min(MaximumLength, bytes.Length - start));
            // The real banner continues with the release number; format strings ("Linux version %s") do not.
            if (text.Length <= Prefix.Length || !char.IsAsciiDigit((char)text[Prefix.Length]))
            {
                continue;
            }

            int end = text.IndexOfAny((byte)'\n', (byte)0);
            string banner = Encoding.ASCII.GetString(end < 0 ? text : text[..end]);
            int hash = banner.IndexOf(" #", StringComparison.Ordinal);
            if (hash >= 0 && hash + 2 < banner.Length && char.IsAsciiDigit(banner[hash + 2]))
            {
                return banner;
            }

            first ??= banner;
        }

        return first;
    }
}
