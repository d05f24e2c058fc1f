using PvhVm.Core.Kvm;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Reliability.Host;

/// <summary>
/// Faults of the host rather than the guest: no access to /dev/kvm, a device that is not KVM, descriptors running
/// out. Those that need another user or a lower limit run the test assembly as a child process.
/// </summary>
/// (Serial: the descriptor-limit children run near the edge and must not share the host with the heaviest tests.)
[Collection(SerialCollection.Name)]
public sealed class HostFaultTests
{
    // nobody/nogroup: in no group that could open /dev/kvm (root:root 0600 here, root:kvm 0660 on most hosts).
    private static readonly string[] AsUnprivilegedUser = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

    // Low enough to run out after a few dozen VMs, high enough for the runtime itself to start.
    private static string[] WithDescriptorLimit(int limit) => ["prlimit", $"--nofile={limit}:{limit}"];

    [Fact]
    public void UnprivilegedUserIsToldWhyAndHowToFixIt()
    {
        var probe = ChildRun.Run(AsUnprivilegedUser, "probe");
        Assert.Equal("False", probe["usable"].Single());
        Assert.Contains("Permission denied", probe["problem"].Single(), StringComparison.Ordinal);
        Assert.Contains("kvm", probe["remedy"].Single(), StringComparison.Ordinal);
        Assert.Equal(KvmHost.AccessRemedy(KvmSystem.DefaultDevicePath), probe["remedy"].Single());

        var start = ChildRun.Run(AsUnprivilegedUser, "start", GuestImages.PathOf("sleep"));
        Assert.Equal("KvmException", start["error"].Single());
        Assert.Equal("13", start["errno"].Single());
        Assert.Equal("True", start["host-unavailable"].Single());
        Assert.Contains("kvm", start["remedy"].Single(), StringComparison.Ordinal);
        Assert.Contains("/dev/kvm", start["message"].Single(), StringComparison.Ordinal);
        Assert.Equal("Failed", start["state"].Single());
    }

    [Theory]
    [InlineData("660", "Add the user to the group 'root' that owns")]
    [InlineData("600", "has mode 600 and group 'root', which gives no group access")]
    [InlineData("640", "sudo chmod 0660")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void AccessRemedyFollowsTheDevicesGroupAndMode(string mode, string expected)
    {
        var device = Path.Combine(Path.GetTempPath(), $"pvhvm-fake-kvm-{Guid.NewGuid():N}");
        File.WriteAllBytes(device, []);
        try
        {
            File.SetUnixFileMode(device, (UnixFileMode)Convert.ToInt32(mode, 8));
            Assert.Contains(expected, KvmHost.AccessRemedy(device), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(device);
        }
    }

    [Fact]
    public void MissingDeviceIsReportedWithTheFix()
    {
        var host = KvmHost.Probe("/nonexistent/kvm");
        Assert.False(host.IsUsable);
        Assert.Contains("does not exist", host.Problem, StringComparison.Ordinal);
        Assert.Contains("modprobe", host.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public void DeviceThatIsNotKvmIsReportedNotCrashedOn()
    {
        var host = KvmHost.Probe("/dev/null");
        Assert.False(host.IsUsable);
        Assert.Contains("KVM_GET_API_VERSION", host.Problem, StringComparison.Ordinal);
        Assert.NotNull(host.Remedy);
    }

    /// <summary>A VM takes three descriptors (/dev/kvm, the VM, the vCPU), so three limits in a row run out at every step of a start.</summary>
    [Theory]
    [InlineData(150)]
    [InlineData(151)]
    [InlineData(152)]
    public void RefusedVmsAreCleanErrorsAndTheRestKeepRunning(int limit)
    {
        var facts = ChildRun.Run(WithDescriptorLimit(limit), "exhaust", GuestImages.PathOf("sleep"), "300");
        int started = int.Parse(facts["started"].Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(started, 5, 299);
        Assert.Equal(3, facts["refused"].Count);
        Assert.All(facts["refused"], r => Assert.Matches("^(HostResourceException|KernelImageException): .*(Too many open files|Resource temporarily unavailable)", r));
        Assert.Equal(started.ToString(System.Globalization.CultureInfo.InvariantCulture), facts["alive"].Single());
        Assert.Equal(started.ToString(System.Globalization.CultureInfo.InvariantCulture), facts["stopped"].Single());
        Assert.Equal("running", facts["after-release"].Single());
    }

    [Fact]
    public void AVmStartsOnceDescriptorsAreFreeAgain()
    {
        var facts = ChildRun.Run(WithDescriptorLimit(160), "squeeze", GuestImages.PathOf("sleep"));
        Assert.Matches("^HostResourceException: .*Too many open files", facts["squeezed"].Single());
        Assert.Equal("running", facts["retry"].Single());
    }
}
