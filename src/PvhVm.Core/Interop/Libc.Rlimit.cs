using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>getrlimit(2), for the file-descriptor limit.</summary>
internal static partial class Libc
{
    public const int RLIMIT_NOFILE = 7;
    public const int EMFILE = 24;
    public const ulong RLIM_INFINITY = ulong.MaxValue;

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int Getrlimit(int resource, out Rlimit limit);

    [StructLayout(LayoutKind.Sequential)]
    public struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
