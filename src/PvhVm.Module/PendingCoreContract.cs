// The engine's announced public contract that has not reached main yet (KvmHost.Probe, KvmException,
// KernelImageException). The module compiles against these stand-ins until the engine merges; this file is
// deleted at that merge, and nothing else in the module refers to it by name.
namespace PvhVm.Core.Kvm
{
    public static class KvmHost
    {
        public static HostInfo Probe(string devicePath = "/dev/kvm") => throw new NotImplementedException("Kvm layer: in progress.");
    }

    public sealed class KvmException(string message, int errno, string ioctl) : Exception(message)
    {
        public int Errno { get; } = errno;

        public string Ioctl { get; } = ioctl;
    }
}

namespace PvhVm.Core.Kernel
{
    public enum KernelImageErrorKind
    {
        Unknown,
    }

    public sealed class KernelImageException(KernelImageErrorKind kind, string message) : Exception(message)
    {
        public KernelImageErrorKind Kind { get; } = kind;
    }
}
