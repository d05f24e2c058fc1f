using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Kvm;

/// <summary>
/// Forces a vCPU thread out of KVM_RUN: a signal makes the ioctl return EINTR. The handler must exist
/// (an ignored signal is never delivered) but must not run managed code, so it is a libc function
/// that does nothing harmful (getpid), installed once per process on a real-time signal .NET leaves alone.
/// </summary>
internal static unsafe class VcpuKicker
{
    /// <summary>SIGRTMAX-3 on glibc; .NET uses SIGRTMIN for its own activation injection.</summary>
    public const int KickSignal = 61;

    private static readonly object Gate = new();
    private static bool _installed;

    public static void EnsureInstalled()
    {
        lock (Gate)
        {
            if (_installed)
            {
                return;
            }

            var handler = NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "getpid");
            var action = stackalloc byte[SigactionSize];
            new Span<byte>(action, SigactionSize).Clear();
            *(nint*)action = handler;
            if (Sigaction(KickSignal, action, null) != 0)
            {
                throw new KvmException("sigaction", Marshal.GetLastPInvokeError());
            }

            _installed = true;
        }
    }

    /// <summary>Signals a thread by its pthread id; harmless if it is not in KVM_RUN.</summary>
    public static void Kick(nuint thread) => _ = Libc.PthreadKill(thread, KickSignal);

    // struct sigaction (glibc, x86-64): handler, sigset_t mask[128 bytes], int flags, restorer.
    private const int SigactionSize = 152;

    [DllImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static extern int Sigaction(int signal, byte* action, byte* oldAction);
}
