using PvhVm.Core.Boot;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Devices.Virtio.Net;
using PvhVm.Core.Devices.Virtio.Vsock;
using PvhVm.Core.Host;
using PvhVm.Core.Kernel;
using PvhVm.Core.Kvm;

namespace PvhVm.Control;

/// <summary>What the engine threw, as the API's error body and HTTP status: the client can tell every kind apart.</summary>
public static class ApiErrors
{
    public static (int StatusCode, ApiError Error) From(Exception exception) => exception switch
    {
        KernelImageException e => (400, new(nameof(KernelImageException), e.Kind.ToString(), e.Message, Path: e.Path)),
        BootException e => (400, new(nameof(BootException), e.Kind.ToString(), e.Message)),
        HostResourceException e => (503, new(nameof(HostResourceException), e.Resource.ToString(), e.Message, e.Errno, e.Operation)),
        KvmException e => (e.IsHostUnavailable ? 503 : 500, new(nameof(KvmException), null, e.Message, e.Errno, e.Operation)),
        DiskImageException e => (400, new(nameof(DiskImageException), e.Problem.ToString(), e.Message, Path: e.Path)),
        TapException e => (400, new(nameof(TapException), e.Problem.ToString(), e.Message)),
        VsockException e => (503, new(nameof(VsockException), null, e.Message, Path: e.Path)),
        InvalidOperationException e => (409, new("InvalidOperation", null, e.Message)),
        ArgumentException e => (400, new(nameof(ArgumentException), null, e.Message)),
        _ => (500, new(exception.GetType().Name, null, exception.Message)),
    };
}
