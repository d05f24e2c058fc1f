using System.Runtime.InteropServices;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>Where a file's holes are, as the filesystem says (lseek SEEK_DATA): what a discard gave back.</summary>
internal static partial class SparseFile
{
    private const int SeekData = 3;
    private const int ENXIO = 6;

    /// <summary>Whether bytes [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="path"/> hold no allocated data.</summary>
    public static bool IsHole(string path, long start, long end)
    {
        using var file = File.OpenHandle(path);
        var nextData = Lseek((int)file.DangerousGetHandle(), start, SeekData);
        // ENXIO: no data at or after start.
        return nextData >= end || (nextData < 0 && Marshal.GetLastPInvokeError() == ENXIO);
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Lseek(int fd, long offset, int whence);
}
