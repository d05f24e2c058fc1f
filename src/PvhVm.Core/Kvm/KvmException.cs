using PvhVm.Core.Host;

namespace PvhVm.Core.Kvm;

/// <summary>A KVM ioctl (or opening /dev/kvm) failed; names the call and the errno.</summary>
public sealed class KvmException : Exception
{
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EPERM = 1;
    public const int ENXIO = 6;
    public const int ENODEV = 19;

    public KvmException(string operation, int errno, string? detail = null)
        : base($"{operation} failed: {Interop.Libc.ErrorText(errno)} (errno {errno}){(detail is null ? "" : ". " + detail)}")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>The ioctl or call, e.g. KVM_CREATE_VM.</summary>
    public string Operation { get; }

    public int Errno { get; }

    /// <summary>
    /// The exception for a failed call: <see cref="HostResourceException"/> when the errno says the host ran out of
    /// descriptors or memory (the VM is not at fault), otherwise a <see cref="KvmException"/>.
    /// </summary>
    public static Exception ForErrno(string operation, int errno) => HostResourceException.ExhaustedBy(errno) is { } resource
        ? new HostResourceException(resource, operation, errno)
        : new KvmException(operation, errno);

    /// <summary>True when /dev/kvm is missing or not accessible: a host problem, not a VM problem.</summary>
    public bool IsHostUnavailable => Operation.StartsWith("open ", StringComparison.Ordinal) && Errno is ENOENT or EACCES or EPERM or ENXIO or ENODEV;
}
