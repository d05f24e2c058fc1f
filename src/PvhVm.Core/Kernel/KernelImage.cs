namespace PvhVm.Core.Kernel;

/// <summary>
/// An opened kernel image: an ELF vmlinux (memory-mapped, read lazily) or a bzImage whose payload has been
/// decompressed to its ELF in memory. For a bzImage, segment file offsets refer to that embedded ELF.
/// </summary>
public sealed class KernelImage : ILoadableKernel, IDisposable
{
    private readonly ImageBytes _elf;
    private bool _disposed;

    private KernelImage(ImageBytes elf, BootInfo info)
    {
        _elf = elf;
        Info = info;
        LoadSegments = info.Segments
            .Where(s => s.TypeCode == ElfSegment.PtLoad)
            .Select(s => new LoadSegment(s.PhysicalAddress, s.VirtualAddress, s.Offset, s.FileSize, s.MemorySize, s.Flags))
            .ToArray();
    }

    public BootInfo Info { get; }

    public string Path => Info.Path;

    public uint? PvhEntryPoint => Info.PvhEntryPoint;

    public int? CommandLineLimit => Info.CommandLineLimit;

    public IReadOnlyList<LoadSegment> LoadSegments { get; }

    /// <summary>Opens and inspects an image; bad or unreadable input throws <see cref="KernelImageException"/>.</summary>
    public static KernelImage Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string fullPath = FullPath(path);
        var file = ImageFile.Map(fullPath);
        try
        {
            var (vmlinux, info) = Parse(fullPath, file.Span);
            if (vmlinux is null)
            {
                return new KernelImage(file, info);
            }

            file.Dispose();
            return new KernelImage(ImageBytes.Of(vmlinux), info);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Describes an image held in memory. Returns the decompressed vmlinux for a bzImage (null for a bare ELF).
    /// Bad input throws <see cref="KernelImageException"/> naming <paramref name="path"/>.
    /// </summary>
    internal static (byte[]? Vmlinux, BootInfo Info) Parse(string path, ReadOnlySpan<byte> bytes)
    {
        try
        {
            return ParseBytes(path, bytes);
        }
        catch (ImageDataException e)
        {
            throw new KernelImageException(e.Kind, path, e.Message, e);
        }
    }

    /// <summary>Writes the ELF image (for a bzImage, the decompressed vmlinux) to <paramref name="destination"/>.</summary>
    public void CopyElfTo(Stream destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        destination.Write(_elf.Span);
    }

    public void CopySegment(LoadSegment segment, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!LoadSegments.Contains(segment))
        {
            throw new ArgumentException("the segment does not belong to this image", nameof(segment));
        }

        if ((ulong)destination.Length < segment.FileSize)
        {
            throw new ArgumentException($"the destination holds {destination.Length} bytes; the segment has 0x{segment.FileSize:x}", nameof(destination));
        }

        // Open checked that every LOAD's file bytes lie inside the image.
        _elf.Span.Slice((int)segment.FileOffset, (int)segment.FileSize).CopyTo(destination);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _elf.Dispose();
        }
    }

    private static (byte[]? Vmlinux, BootInfo Info) ParseBytes(string path, ReadOnlySpan<byte> bytes)
    {
        if (ElfReader.HasElfMagic(bytes))
        {
            return (null, ElfInspection.Describe(path, bytes, KernelCompression.None, setupHeader: null));
        }

        if (!SetupHeaderReader.HasSetupMagic(bytes))
        {
            throw new ImageDataException(KernelImageErrorKind.NotAKernelImage, "neither an ELF image nor a bzImage (no ELF magic, no 'HdrS' setup header)");
        }

        var header = SetupHeaderReader.Read(bytes);
        var payload = BzImagePayload.Locate(bytes, header);
        var compression = PayloadFormat.Detect(payload)
            ?? throw new ImageDataException(KernelImageErrorKind.UnsupportedCompression,
                $"the payload starts with {Convert.ToHexString(payload[..Math.Min(6, payload.Length)])}, no known compression magic");
        var vmlinux = PayloadDecompressor.Decompress(payload, compression);
        if (!ElfReader.HasElfMagic(vmlinux))
        {
            throw new ImageDataException(KernelImageErrorKind.CorruptHeader, $"the {compression} payload does not hold an ELF image");
        }

        return (vmlinux, ElfInspection.Describe(path, vmlinux, compression, header));
    }

    private static string FullPath(string path)
    {
        try
        {
            return System.IO.Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new KernelImageException(KernelImageErrorKind.NotFound, path, $"not a usable path: {e.Message}", e);
        }
    }
}
