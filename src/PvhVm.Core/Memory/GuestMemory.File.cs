using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Memory;

/// <summary>
/// Guest RAM to and from a file laid out as the regions one after another: written with holes where a page is all
/// zeros, mapped back copy-on-write (MAP_PRIVATE), so every VM mapping one file shares the pages none of them wrote.
/// </summary>
internal sealed partial class GuestMemory
{
    // mmap(2): place the mapping exactly there, replacing what was mapped.
    private const int MapFixed = 0x10;

    /// <summary>
    /// Writes RAM to a new file at <paramref name="path"/>, of exactly <see cref="RamSize"/> bytes, skipping all-zero
    /// pages (they stay holes). Returns the bytes of data written.
    /// </summary>
    /// <remarks>
    /// Zero pages are found by reading them, not with mincore(2): a resident page can be all zeros, and a page the guest
    /// wrote may have been swapped out, which mincore calls absent. Reading an untouched anonymous page maps the
    /// kernel's shared zero page, so the scan does not grow the VM's resident memory.
    /// </remarks>
    public unsafe long WriteSparseFile(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        RandomAccess.SetLength(file, (long)RamSize);
        long written = 0;
        long fileOffset = 0;
        foreach (var region in _regions)
        {
            var pages = region.Size / PageSize;
            ulong page = 0;
            while (page < pages)
            {
                if (IsZeroPage(region, page))
                {
                    page++;
                    continue;
                }

                // A run of data pages goes out in one write (at most 1 GiB, what a span can hold).
                var first = page;
                while (page < pages && page - first < (1 << 18) && !IsZeroPage(region, page))
                {
                    page++;
                }

                var length = (int)((page - first) * PageSize);
                RandomAccess.Write(file, new ReadOnlySpan<byte>((byte*)region.HostAddress + (first * PageSize), length), fileOffset + (long)(first * PageSize));
                written += length;
            }

            fileOffset += (long)region.Size;
        }

        return written;
    }

    /// <summary>
    /// Replaces this RAM, which no guest has run on, with a RAM file written by <see cref="WriteSparseFile"/>, mapped
    /// copy-on-write at the same host addresses (MAP_FIXED), so the KVM memory slots already registered for it stay
    /// valid and a restore costs no slot ioctl. The caller has checked that the file is exactly <see cref="RamSize"/>
    /// bytes. The guest's writes go to pages of this process only; the file is never changed.
    /// </summary>
    public void ReplaceWithPrivateFile(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"{path}: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            ulong fileOffset = 0;
            foreach (var region in _regions)
            {
                var address = Libc.Mmap(region.HostAddress, (nuint)region.Size, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_NORESERVE | MapFixed, fd, (nint)fileOffset);
                if (address != region.HostAddress)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new Host.HostResourceException(Host.HostResource.Memory, $"mmap {region.Size} bytes of guest RAM from a checkpoint", errno);
                }

                fileOffset += region.Size;
            }
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static unsafe bool IsZeroPage(GuestRamRegion region, ulong page)
        => new ReadOnlySpan<byte>((byte*)region.HostAddress + (page * PageSize), (int)PageSize).IndexOfAnyExcept((byte)0) < 0;
}
