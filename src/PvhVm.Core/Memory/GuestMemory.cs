using System.Buffers.Binary;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Memory;

/// <summary>
/// Guest RAM as anonymous host mappings: one region below the 32-bit MMIO hole and, when RAM is larger
/// than that, one from 4 GiB up. Mapped read/write, never executable in the host. Every access is
/// bounds-checked and must lie wholly inside one region: addresses and lengths come from untrusted kernels and
/// guests (and soon from virtqueues), so a bad one is a <see cref="GuestMemoryException"/>, never a host access.
/// Scalars are little-endian, as the guest stores them.
/// </summary>
internal sealed partial class GuestMemory : IDisposable
{
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

        var low = Math.Min(ramSize, Layout.MmioHoleStart);
        var regions = new List<GuestRamRegion>(2);
        try
        {
            regions.Add(new GuestRamRegion(0, low, Map(low)));
            if (ramSize > low)
            {
                regions.Add(new GuestRamRegion(Layout.HighRamStart, ramSize - low, Map(ramSize - low)));
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
    public bool Contains(GuestAddress address, ulong length) => FindRegion(address.Value, length) is not null;

    /// <summary>Fills <paramref name="destination"/> from guest memory at <paramref name="address"/>.</summary>
    public void Read(GuestAddress address, Span<byte> destination) => GetSpan(address, destination.Length).CopyTo(destination);

    /// <summary>Copies <paramref name="data"/> into guest memory at <paramref name="address"/>.</summary>
    public void Write(GuestAddress address, ReadOnlySpan<byte> data) => data.CopyTo(GetSpan(address, data.Length));

    public byte ReadByte(GuestAddress address) => GetSpan(address, 1)[0];

    public ushort ReadUInt16(GuestAddress address) => BinaryPrimitives.ReadUInt16LittleEndian(GetSpan(address, 2));

    public uint ReadUInt32(GuestAddress address) => BinaryPrimitives.ReadUInt32LittleEndian(GetSpan(address, 4));

    public ulong ReadUInt64(GuestAddress address) => BinaryPrimitives.ReadUInt64LittleEndian(GetSpan(address, 8));

    public void WriteUInt16(GuestAddress address, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(GetSpan(address, 2), value);

    public void WriteUInt32(GuestAddress address, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(address, 4), value);

    public void WriteUInt64(GuestAddress address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(GetSpan(address, 8), value);

    /// <summary>
    /// A view of guest memory for the engine's own loaders; throws <see cref="GuestMemoryException"/> unless wholly
    /// inside one RAM region. Internal: a view must not outlive the mapping, which only the engine can promise.
    /// </summary>
    internal unsafe Span<byte> GetSpan(GuestAddress address, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (length < 0)
        {
            throw new GuestMemoryException($"Negative length {length} at guest address {address}.");
        }

        var region = FindRegion(address.Value, (ulong)length)
            ?? throw new GuestMemoryException($"Guest range [{address}, +0x{length:x}) is not inside guest RAM.");
        return new Span<byte>((byte*)region.HostAddress + (address.Value - region.GuestAddress), length);
    }

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
