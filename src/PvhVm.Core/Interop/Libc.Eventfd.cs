using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>eventfd(2): the cheapest descriptor to open, used to probe how many are left.</summary>
internal static partial class Libc
{
    public const int EMFILE = 24;
    public const int EFD_CLOEXEC = 0x80000;

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int Eventfd(uint initialValue, int flags);
}
