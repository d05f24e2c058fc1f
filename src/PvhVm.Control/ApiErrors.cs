using PvhVm.Core.Boot;
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
        InvalidOperationException e => (409, new("InvalidOperation", null, e.Message)),
        _ => (500, new(exception.GetType().Name, null, exception.Message)),
    };
}
