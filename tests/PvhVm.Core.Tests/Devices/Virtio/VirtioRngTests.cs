using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Rng;
using static PvhVm.Core.Tests.Devices.Virtio.VirtioTestDriver;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>virtio-rng as Linux's virtio_rng drives it: one writable buffer per request, filled from the host.</summary>
public sealed class VirtioRngTests
{
    [Fact]
    public void FillsEveryWritableBufferOfARequestWithFreshBytes()
    {
        var rng = new VirtioRng();
        // Without EVENT_IDX every returned request interrupts.
        using var driver = new VirtioTestDriver(rng).Start(declined: VirtioFeature.RingEventIdx);
        Assert.Equal(64u, driver.Submit(new TestBuffer(DataArea, 40, true), new TestBuffer(DataArea + 0x1000, 24, true)));
        var first = new byte[64];
        driver.Memory.Read(DataArea, first.AsSpan(0, 40));
        driver.Memory.Read(DataArea + 0x1000, first.AsSpan(40));

        Assert.Equal(64u, driver.SubmitIndirect(new TestBuffer(DataArea + 0x2000, 64, true)));
        var second = new byte[64];
        driver.Memory.Read(DataArea + 0x2000, second);

        // 64 random bytes all zero, or equal twice, has probability 2^-512.
        Assert.NotEqual(new byte[64], first);
        Assert.NotEqual(first, second);
        Assert.Equal(2, rng.Requests);
        Assert.Equal(128, rng.BytesProvided);
        Assert.Equal(2, driver.Interrupts.Count);
    }

    [Fact]
    public void AHugeRequestGetsAtMostTheCap()
    {
        var rng = new VirtioRng();
        using var driver = new VirtioTestDriver(rng, ramSize: 8 << 20).Start();
        Assert.Equal((uint)VirtioRng.MaxBytesPerRequest, driver.Submit(new TestBuffer(DataArea, 4 << 20, true)));
        var beyond = new byte[4096];
        driver.Memory.Read(DataArea + VirtioRng.MaxBytesPerRequest, beyond);
        Assert.Equal(new byte[4096], beyond);
    }

    [Fact]
    public void AReadableOnlyRequestIsReturnedEmpty()
    {
        using var driver = new VirtioTestDriver(new VirtioRng()).Start();
        Assert.Equal(0u, driver.Submit(new TestBuffer(DataArea, 64)));
        Assert.False(driver.NeedsReset);
        Assert.Equal(VirtioDeviceType.Entropy, driver.Transport.Device.DeviceType);
    }
}
