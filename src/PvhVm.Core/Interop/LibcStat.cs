using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>statx(2): the file type and size without opening the file (opening a FIFO blocks).</summary>
internal static partial class Libc
{
    public const int ENOENT = 2;
    public const int ENOTDIR = 20;

    private const int AT_FDCWD = -100;
    private const uint STATX_TYPE = 0x1;
    private const uint STATX_SIZE = 0x200;
    private const int StatxSize = 256;
    private const int ModeOffset = 0x1c;   // stx_mode, u16
    private const int SizeOffset = 0x28;   // stx_size, u64

    public const int S_IFMT = 0xf000;
    public const int S_IFREG = 0x8000;
    public const int S_IFDIR = 0x4000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);

    /// <summary>Follows symlinks; returns 0 or the errno.</summary>
    public static unsafe int StatTypeAndSize(string path, out int fileType, out ulong size)
    {
        byte* buffer = stackalloc byte[StatxSize];
        if (Statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_SIZE, buffer) != 0)
        {
            fileType = 0;
            size = 0;
            return Marshal.GetLastPInvokeError();
        }

        fileType = *(ushort*)(buffer + ModeOffset) & S_IFMT;
        size = *(ulong*)(buffer + SizeOffset);
        return 0;
    }
}
