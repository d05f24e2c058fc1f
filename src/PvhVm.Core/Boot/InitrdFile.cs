using Microsoft.Win32.SafeHandles;
using PvhVm.Core.Interop;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Boot;

/// <summary>
/// An initrd opened for loading through <see cref="RegularFile"/>: only a regular, non-empty file passes.
/// </summary>
internal sealed class InitrdFile : IDisposable
{
    private const int ChunkSize = 1 << 30;

    private readonly SafeFileHandle _handle;

    private InitrdFile(string path, SafeFileHandle handle, ulong size)
    {
        Path = path;
        _handle = handle;
        Size = size;
    }

    public string Path { get; }

    public ulong Size { get; }

    public static InitrdFile Open(string path)
    {
        SafeFileHandle handle;
        ulong size;
        try
        {
            handle = RegularFile.Open(path, out size);
        }
        catch (RegularFileException e)
        {
            var kind = e.Problem == RegularFileProblem.NotFound ? BootErrorKind.InitrdNotFound : BootErrorKind.InitrdUnreadable;
            throw new BootException(kind, $"Initrd '{path.Replace("\0", "\\0")}': {e.Message}.");
        }

        if (size == 0)
        {
            handle.Dispose();
            throw new BootException(BootErrorKind.InitrdUnreadable, $"Initrd '{path}': the file is empty.");
        }

        return new InitrdFile(path, handle, size);
    }

    /// <summary>Reads the whole file straight into guest memory at <paramref name="address"/>, in chunks, without a host copy.</summary>
    public void ReadInto(GuestMemory memory, ulong address)
    {
        ulong done = 0;
        while (done < Size)
        {
            var chunk = (int)Math.Min(Size - done, ChunkSize);
            var read = RandomAccess.Read(_handle, memory.GetSpan(address + done, chunk), (long)done);
            if (read == 0)
            {
                throw new BootException(BootErrorKind.InitrdUnreadable, $"Initrd '{Path}' shrank while loading: {done} of {Size} bytes read.");
            }

            done += (ulong)read;
        }
    }

    public void Dispose() => _handle.Dispose();
}
