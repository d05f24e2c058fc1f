using PvhVm.Core.Boot;
using PvhVm.Core.Checkpoints;
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
        CheckpointException e => (CheckpointStatus(e.Kind), new(nameof(CheckpointException), e.Kind.ToString(), e.Message, Path: e.Path)),
        UnauthorizedAccessException e => (403, new(nameof(UnauthorizedAccessException), null, e.Message)),
        InvalidOperationException e => (409, new("InvalidOperation", null, e.Message)),
        ArgumentException e => (400, new(nameof(ArgumentException), null, e.Message)),
        _ => (500, new(exception.GetType().Name, null, exception.Message)),
    };

    /// <summary>
    /// A VM whose devices or folder stand in the way is a conflict (409), a vCPU that would not come out a busy host
    /// (503); the rest are about a checkpoint's content (400).
    /// </summary>
    private static int CheckpointStatus(CheckpointErrorKind kind) => kind switch
    {
        CheckpointErrorKind.UnsupportedDevice or CheckpointErrorKind.FolderNotEmpty => 409,
        CheckpointErrorKind.PauseTimeout => 503,
        _ => 400,
    };
}
