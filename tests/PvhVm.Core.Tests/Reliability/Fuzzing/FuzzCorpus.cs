using System.Buffers.Binary;
using System.Text;
using PvhVm.Core.Tests.Guests;
using PvhVm.Core.Tests.Kernel;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>
/// Starting inputs: the probe guests (ELF64 and ELF32, one and two LOADs, a note-rich image), and bzImages whose
/// payload is a probe guest compressed by the real command-line tool of every format the reader knows, with the
/// kernel build's own flags and its appended size.
/// </summary>
internal static class FuzzCorpus
{
    private static readonly string[] Guests = ["probe", "probe32", "smp", "notes"];

    // arch/x86/boot/compressed/Makefile, scripts/Makefile.lib, scripts/xz_wrap.sh.
    private static readonly (string Name, string[] Command)[] Compressors =
    [
        ("gzip", ["gzip", "-n", "-9"]),
        ("bzip2", ["bzip2", "-9"]),
        ("lzma", ["lzma", "-9"]),
        ("xz", ["xz", "--check=crc32", "--x86", "--lzma2=,dict=32MiB"]),
        ("lzo", ["lzop", "-9"]),
        ("lz4", ["lz4", "-l", "-12", "--favor-decSpeed"]),
        ("zstd", ["zstd", "-22", "--ultra"]),
    ];

    private static readonly Lazy<IReadOnlyList<FuzzSeed>> Cached = new(Build);

    public static IReadOnlyList<FuzzSeed> Seeds => Cached.Value;

    private static List<FuzzSeed> Build()
    {
        var seeds = new List<FuzzSeed>();
        foreach (var guest in Guests)
        {
            seeds.Add(Seed(guest, File.ReadAllBytes(GuestImages.PathOf(guest))));
        }

        var notes = File.ReadAllBytes(GuestImages.PathOf("notes"));
        // A payload past lzop's 256 KiB block size, so block framing is exercised too.
        var large = notes.Concat(Encoding.ASCII.GetBytes(string.Join('\n', Enumerable.Range(0, 40_000).Select(i => $"filler line {i} {i * 7919 % 65521}")))).ToArray();
        foreach (var (name, command) in Compressors)
        {
            seeds.Add(Seed($"bzImage-{name}", WrapInBzImage(KernelCompressors.Payload(notes, command))));
        }

        seeds.Add(Seed("bzImage-lzo-large", WrapInBzImage(KernelCompressors.Payload(large, ["lzop", "-9"]))));
        seeds.Add(Seed("bzImage-lz4-large", WrapInBzImage(KernelCompressors.Payload(large, ["lz4", "-l", "-12", "--favor-decSpeed"]))));
        return seeds;
    }

    public static FuzzSeed Seed(string name, byte[] bytes) => new(name, bytes, SeedFields.Of(bytes));

    /// <summary>A minimal bzImage around a payload: one setup sector, a 2.15 setup header, a version string.</summary>
    public static byte[] WrapInBzImage(byte[] payload)
    {
        const int protectedMode = 2 * 512, payloadOffset = 0x40, versionString = 0x300;
        var image = new byte[protectedMode + payloadOffset + payload.Length + 0x10];
        image[0x1f1] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x202), 0x53726448);   // "HdrS"
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x206), 0x020f);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x20e), versionString - 0x200);
        image[0x211] = 0x01;                                                          // LOADED_HIGH
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x238), 2047);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x248), payloadOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x24c), (uint)payload.Length);
        Encoding.ASCII.GetBytes("6.1.0-fuzz (fuzz@pvhvm) #1 SMP\0").CopyTo(image, versionString);
        payload.CopyTo(image, protectedMode + payloadOffset);
        return image;
    }
}
