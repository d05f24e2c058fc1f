using PvhVm.Core.Machine;

namespace PvhVm.Core.Tests;

/// <summary>
/// Core's public types are the API the module and C# embedders build on; everything else is internal (the tests see
/// it through InternalsVisibleTo). A type made public, or a public one removed, fails here until this list says so.
/// </summary>
public sealed class PublicSurfaceTests
{
    private static readonly string[] Expected =
    [
        "PvhVm.Core.Boot.BootErrorKind",
        "PvhVm.Core.Boot.BootException",
        "PvhVm.Core.Boot.E820Entry",
        "PvhVm.Core.Boot.E820Type",
        "PvhVm.Core.Boot.LayoutRegion",
        "PvhVm.Core.Boot.RegionUsage",
        "PvhVm.Core.Checkpoints.Checkpoint",
        "PvhVm.Core.Checkpoints.CheckpointErrorKind",
        "PvhVm.Core.Checkpoints.CheckpointException",
        "PvhVm.Core.Checkpoints.CheckpointRestoreOptions",
        "PvhVm.Core.Devices.Virtio.Block.DiskImageException",
        "PvhVm.Core.Devices.Virtio.Block.DiskImageProblem",
        "PvhVm.Core.Devices.Virtio.Net.TapException",
        "PvhVm.Core.Devices.Virtio.Net.TapProblem",
        "PvhVm.Core.Devices.Virtio.Vsock.VsockException",
        "PvhVm.Core.Host.HostResource",
        "PvhVm.Core.Host.HostResourceException",
        "PvhVm.Core.Kernel.BootInfo",
        "PvhVm.Core.Kernel.BzImageSetupHeader",
        "PvhVm.Core.Kernel.ElfNote",
        "PvhVm.Core.Kernel.ElfSegment",
        "PvhVm.Core.Kernel.KernelCompression",
        "PvhVm.Core.Kernel.KernelFormat",
        "PvhVm.Core.Kernel.KernelImage",
        "PvhVm.Core.Kernel.KernelImageErrorKind",
        "PvhVm.Core.Kernel.KernelImageException",
        "PvhVm.Core.Kernel.KernelInspector",
        "PvhVm.Core.Kernel.LoadSegment",
        "PvhVm.Core.Kvm.HostInfo",
        "PvhVm.Core.Kvm.KvmException",
        "PvhVm.Core.Kvm.KvmHost",
        "PvhVm.Core.Layout",
        "PvhVm.Core.Machine.ConsoleLine",
        "PvhVm.Core.Machine.ConsoleLog",
        "PvhVm.Core.Machine.DiskConfig",
        "PvhVm.Core.Machine.NetworkAdapterConfig",
        "PvhVm.Core.Machine.VirtualMachine",
        "PvhVm.Core.Machine.VmConfig",
        "PvhVm.Core.Machine.VmDisk",
        "PvhVm.Core.Machine.VmExitReason",
        "PvhVm.Core.Machine.VmFault",
        "PvhVm.Core.Machine.VmNetworkAdapter",
        "PvhVm.Core.Machine.VmState",
        "PvhVm.Core.Machine.VmStateExtensions",
        "PvhVm.Core.Machine.VmStatus",
    ];

    [Fact]
    public void CoreExportsExactlyTheCuratedTypes()
    {
        var exported = typeof(VirtualMachine).Assembly.GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal);
        Assert.Equal(Expected, exported);
    }
}
