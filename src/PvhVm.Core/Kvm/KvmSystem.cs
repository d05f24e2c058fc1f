using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Kvm;

/// <summary>The /dev/kvm system file descriptor: API version, capabilities, VM creation, supported CPUID.</summary>
internal sealed partial class KvmSystem : IDisposable
{
    public const string DefaultDevicePath = "/dev/kvm";
    public const int ExpectedApiVersion = 12;

    private readonly KvmFileDescriptor _fd;

    private KvmSystem(KvmFileDescriptor fd)
    {
        _fd = fd;
    }

    public static KvmSystem Open(string devicePath = DefaultDevicePath)
    {
        var fd = Libc.Open(devicePath, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw KvmException.ForErrno($"open {devicePath}", Marshal.GetLastPInvokeError());
        }

        var system = new KvmSystem(new KvmFileDescriptor(fd));
        var version = system.ApiVersion;
        if (version != ExpectedApiVersion)
        {
            system.Dispose();
            throw new KvmException("KVM_GET_API_VERSION", 0, $"API version {version}, expected {ExpectedApiVersion}");
        }

        return system;
    }

    public int ApiVersion => _fd.Ioctl(KvmIoctls.GetApiVersion, 0, "KVM_GET_API_VERSION");

    /// <summary>Size of the per-vCPU kvm_run mapping.</summary>
    public int VcpuMmapSize => _fd.Ioctl(KvmIoctls.GetVcpuMmapSize, 0, "KVM_GET_VCPU_MMAP_SIZE");

    /// <summary>KVM_CHECK_EXTENSION: 0 when absent, otherwise a capability-specific value.</summary>
    public int CheckExtension(KvmCapability capability) => _fd.Ioctl(KvmIoctls.CheckExtension, (nint)capability, "KVM_CHECK_EXTENSION");

    /// <summary>
    /// KVM_CREATE_VM, again when a signal interrupted it: the kernel gives up registering the VM's MMU notifier with EINTR
    /// when any signal is pending for the thread (seen in a pwsh whose host-process children were ending: SIGCHLD).
    /// </summary>
    public KvmVm CreateVm()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return new(new KvmFileDescriptor(_fd.Ioctl(KvmIoctls.CreateVm, 0, "KVM_CREATE_VM")), this);
            }
            catch (KvmException e) when (e.Errno == Interop.Libc.EINTR && attempt < MaxCreateVmAttempts)
            {
            }
        }
    }

    private const int MaxCreateVmAttempts = 5;

    /// <summary>KVM_GET_SUPPORTED_CPUID: every leaf the host lets guests see.</summary>
    public KvmCpuidEntry2[] GetSupportedCpuid() => _fd.ReadCpuid(KvmIoctls.GetSupportedCpuid, "KVM_GET_SUPPORTED_CPUID");

    public void Dispose() => _fd.Dispose();
}
