using PvhVm.Core.Interop;

namespace PvhVm.Core.Host;

/// <summary>
/// The host ran out of something a VM needs (threads, descriptors, memory): not a fault of the VM, its kernel or
/// KVM, and a retry may succeed once other VMs are gone or a limit is raised.
/// </summary>
public sealed class HostResourceException : Exception
{
    public const int ENOMEM = 12;
    public const int ENFILE = 23;
    public const int EMFILE = Libc.EMFILE;

    public HostResourceException(HostResource resource, string operation, int errno, string? detail = null)
        : base($"{operation} failed: {Libc.ErrorText(errno)} (errno {errno}){(detail is null ? "" : ". " + detail)}")
    {
        Resource = resource;
        Operation = operation;
        Errno = errno;
    }

    public HostResource Resource { get; }

    /// <summary>The call that was refused, e.g. KVM_CREATE_VCPU.</summary>
    public string Operation { get; }

    public int Errno { get; }

    /// <summary>What the user can do when <paramref name="resource"/> runs out.</summary>
    public static string Remedy(HostResource resource) => resource switch
    {
        HostResource.FileDescriptors => "Raise the descriptor limit (ulimit -n) or stop and remove other VMs.",
        HostResource.Memory => "Give the VM less memory (-MemoryMB), or stop and remove other VMs.",
        _ => "Give the VM fewer vCPUs, or stop and remove other VMs (the host's thread or memory limits were reached).",
    };

    /// <summary>The resource an errno says ran out, if it says one did.</summary>
    public static HostResource? ExhaustedBy(int errno) => errno switch
    {
        EMFILE or ENFILE => HostResource.FileDescriptors,
        ENOMEM => HostResource.Memory,
        _ => null,
    };
}
