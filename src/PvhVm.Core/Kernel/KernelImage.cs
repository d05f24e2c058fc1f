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
            var (elf, info) = Inspect(fullPath, file);
            if (!ReferenceEquals(elf, file))
            {
                file.Dispose();
            }

            return new KernelImage(elf, info);
        }
        catch (ImageDataException e)
        {
            file.Dispose();
            throw new KernelImageException(e.Kind, fullPath, e.Message, e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
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

    private static (ImageBytes Elf, BootInfo Info) Inspect(string path, ImageBytes file)
    {
        var bytes = file.Span;
        if (ElfReader.HasElfMagic(bytes))
        {
            return (file, ElfInspection.Describe(path, bytes, KernelCompression.None, setupHeader: null));
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
        var vmlinux = ImageBytes.Of(PayloadDecompressor.Decompress(payload, compression));
        if (!ElfReader.HasElfMagic(vmlinux.Span))
        {
            throw new ImageDataException(KernelImageErrorKind.CorruptHeader, $"the {compression} payload does not hold an ELF image");
        }

        return (vmlinux, ElfInspection.Describe(path, vmlinux.Span, compression, header));
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
