using System.Buffers.Binary;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Reliability.Images;

/// <summary>
/// A probe guest rewritten on disk: its first PT_LOAD moved or resized, its PVH entry note pointed elsewhere.
/// The probe is an ELF64 with its program headers at 64 and one Xen PHYS32_ENTRY note with an 8-byte descriptor.
/// </summary>
internal sealed class HostileImage : IDisposable
{
    private const int ProgramHeaders = 64, ProgramHeaderSize = 56;

    private readonly byte[] _image;

    public HostileImage(string guest = "probe")
    {
        _image = File.ReadAllBytes(GuestImages.PathOf(guest));
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"pvhvm-hostile-{Guid.NewGuid():N}.elf");
    }

    public string Path { get; }

    /// <summary>Moves program header <paramref name="index"/> (a LOAD) to <paramref name="physical"/>, optionally resizing its memory.</summary>
    public HostileImage MoveLoad(int index, ulong physical, ulong? memorySize = null)
    {
        int header = ProgramHeaders + (index * ProgramHeaderSize);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(_image.AsSpan(header)));
        BinaryPrimitives.WriteUInt64LittleEndian(_image.AsSpan(header + 24), physical);
        if (memorySize is { } size)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_image.AsSpan(header + 40), size);
        }

        return this;
    }

    public ulong LoadAddress(int index) => BinaryPrimitives.ReadUInt64LittleEndian(_image.AsSpan(ProgramHeaders + (index * ProgramHeaderSize) + 24));

    /// <summary>Rewrites the PHYS32_ENTRY descriptor.</summary>
    public HostileImage Entry(ulong entry)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_image.AsSpan(EntryDescriptor()), entry);
        return this;
    }

    public ulong CurrentEntry => BinaryPrimitives.ReadUInt64LittleEndian(_image.AsSpan(EntryDescriptor()));

    public string Write()
    {
        File.WriteAllBytes(Path, _image);
        return Path;
    }

    public void Dispose() => File.Delete(Path);

    // The note "Xen\0" with type 18: namesz 4, descsz 8, type 18, then the name and the descriptor.
    private int EntryDescriptor()
    {
        ReadOnlySpan<byte> header = [4, 0, 0, 0, 8, 0, 0, 0, 18, 0, 0, 0, (byte)'X', (byte)'e', (byte)'n', 0];
        int at = _image.AsSpan().IndexOf(header);
        Assert.True(at > 0, "no PHYS32_ENTRY note");
        return at + header.Length;
    }
}
