using PvhVm.Core.Interop;

namespace PvhVm.Core.Boot;

/// <summary>
/// Guest RAM as anonymous host mappings: one region below the 32-bit MMIO hole and, when RAM is larger
/// than that, one from 4 GiB up. Mapped read/write, never executable in the host. Every access is
/// bounds-checked: addresses and lengths come from untrusted kernels and guests.
/// </summary>
public sealed class GuestMemory : IDisposable
{
    /// <summary>Start of the 32-bit MMIO hole (LAPIC, I/O APIC and the like live above it).</summary>
    public const ulong MmioHoleStart = 0xC000_0000;

    /// <summary>Where RAM continues above the hole.</summary>
    public const ulong HighRamStart = 0x1_0000_0000;

    public const ulong PageSize = 4096;

    private readonly GuestRamRegion[] _regions;
    private int _disposed;

    private GuestMemory(GuestRamRegion[] regions, ulong ramSize)
    {
        _regions = regions;
        RamSize = ramSize;
    }

    /// <summary>Total guest RAM in bytes.</summary>
    public ulong RamSize { get; }

    public IReadOnlyList<GuestRamRegion> Regions => _regions;

    /// <summary>Maps <paramref name="ramSize"/> bytes of guest RAM (a whole number of pages, at least one page).</summary>
    public static GuestMemory Allocate(ulong ramSize)
    {
        if (ramSize < PageSize || ramSize % PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ramSize), ramSize, "Guest RAM must be a positive whole number of 4 KiB pages.");
        }

        var low = Math.Min(ramSize, MmioHoleStart);
        var regions = new List<GuestRamRegion>(2);
        try
        {
            regions.Add(new GuestRamRegion(0, low, Map(low)));
            if (ramSize > low)
            {
                regions.Add(new GuestRamRegion(HighRamStart, ramSize - low, Map(ramSize - low)));
            }
        }
        catch
        {
            foreach (var region in regions)
            {
                _ = Libc.Munmap(region.HostAddress, (nuint)region.Size);
            }

            throw;
        }

        return new GuestMemory(regions.ToArray(), ramSize);
    }

    /// <summary>True when [address, address+length) lies inside one RAM region.</summary>
    public bool Contains(ulong address, ulong length) => FindRegion(address, length) is not null;

    /// <summary>A view of guest memory; throws <see cref="GuestMemoryException"/> unless wholly inside one RAM region.</summary>
    public unsafe Span<byte> GetSpan(ulong address, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (length < 0)
        {
            throw new GuestMemoryException($"Negative length {length} at guest address 0x{address:x}.");
        }

        var region = FindRegion(address, (ulong)length)
            ?? throw new GuestMemoryException($"Guest range [0x{address:x}, +0x{length:x}) is not inside guest RAM.");
        return new Span<byte>((byte*)region.HostAddress + (address - region.GuestAddress), length);
    }

    public void Write(ulong address, ReadOnlySpan<byte> data) => data.CopyTo(GetSpan(address, data.Length));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var region in _regions)
        {
            _ = Libc.Munmap(region.HostAddress, (nuint)region.Size);
        }
    }

    private GuestRamRegion? FindRegion(ulong address, ulong length)
    {
        foreach (var region in _regions)
        {
            // Written to avoid overflow of address + length with hostile values.
            if (address >= region.GuestAddress && address - region.GuestAddress <= region.Size
                && length <= region.Size - (address - region.GuestAddress))
            {
                return region;
            }
        }

        return null;
    }

    private static nint Map(ulong size)
    {
        var address = Libc.Mmap(0, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        if (address == Libc.MAP_FAILED)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new Host.HostResourceException(Host.HostResource.Memory, $"mmap {size} bytes of guest RAM", errno);
        }

        return address;
    }
}
