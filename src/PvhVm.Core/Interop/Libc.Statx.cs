using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>statx(2): file type and size, of a path or an open descriptor, with a layout that is the same on every architecture.</summary>
internal static partial class Libc
{
    public const int O_RDONLY = 0x0;
    public const int O_NONBLOCK = 0x800;

    public const int ENOENT = 2;
    public const int ENOTDIR = 20;

    public const int AT_FDCWD = -100;
    public const int AT_EMPTY_PATH = 0x1000;
    public const uint STATX_TYPE = 0x1;
    public const uint STATX_SIZE = 0x200;
    public const uint STATX_BLOCKS = 0x400;
    public const uint STATX_MODE = 0x2;
    public const uint STATX_GID = 0x10;

    public const ushort S_IFMT = 0xF000;
    public const ushort S_IFREG = 0x8000;
    public const ushort S_IFDIR = 0x4000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statx(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);
}

/// <summary>struct statx, only the fields the engine reads (the kernel fills all 256 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct StatxBuffer
{
    [FieldOffset(24)] public uint Gid;
    [FieldOffset(28)] public ushort Mode;
    [FieldOffset(40)] public ulong Size;

    /// <summary>512-byte blocks allocated: a sparse file's size on disk.</summary>
    [FieldOffset(48)] public ulong Blocks;
}
