using PvhVm.Core.Host;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Tests.Host;

public sealed class HostResourceExceptionTests
{
    [Theory]
    [InlineData(24, HostResource.FileDescriptors)] // EMFILE: the process limit
    [InlineData(23, HostResource.FileDescriptors)] // ENFILE: the system limit
    [InlineData(12, HostResource.Memory)]          // ENOMEM
    public void AFailedKvmCallThatRanOutOfAHostResourceSaysWhich(int errno, HostResource resource)
    {
        var error = Assert.IsType<HostResourceException>(KvmException.ForErrno("KVM_CREATE_VCPU", errno));
        Assert.Equal(resource, error.Resource);
        Assert.Equal("KVM_CREATE_VCPU", error.Operation);
        Assert.Equal(errno, error.Errno);
        Assert.StartsWith("KVM_CREATE_VCPU failed: ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(13)] // EACCES
    [InlineData(22)] // EINVAL
    [InlineData(14)] // EFAULT
    public void AnyOtherFailureStaysAKvmException(int errno)
    {
        var error = Assert.IsType<KvmException>(KvmException.ForErrno("open /dev/kvm", errno));
        Assert.Equal(errno, error.Errno);
    }
}
