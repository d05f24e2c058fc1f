using PvhVm.Core.Tests.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>
/// The campaign over Debian's own kernel (build.ps1 -Task SlowTest): its ELF vmlinux (about 50 MB, ~80 sections,
/// Xen, GNU and Linux notes) and its bzImage (LZ4 payload decompressed in full by every mutant that keeps it intact).
/// </summary>
[Collection(DebianKernelCollection.Name)]
[Trait("Category", "Slow")]
public sealed class DebianKernelFuzzSlowTests(DebianKernelFixture kernel, ITestOutputHelper output)
{
    [Fact]
    public void MutantsOfTheRealVmlinuxRaiseOnlyKernelImageException()
    {
        var seeds = new[] { FuzzCorpus.Seed("debian-vmlinux", File.ReadAllBytes(kernel.VmlinuxPath)) };
        var report = KernelImageFuzzTests.RunCampaign(seeds, inputs: 1500, randomSeed: 61, output);
        AssertClean(report);
    }

    [Fact]
    public void MutantsOfTheRealBzImageRaiseOnlyKernelImageException()
    {
        var seeds = new[] { FuzzCorpus.Seed("debian-vmlinuz", File.ReadAllBytes(kernel.VmlinuzPath)) };
        var report = KernelImageFuzzTests.RunCampaign(seeds, inputs: 400, randomSeed: 62, output);
        AssertClean(report);
    }

    // The real images decompress to ~50 MB and legitimately allocate that much, so the campaign's own allocation bound
    // (64 MiB + 16 bytes per input byte) is what applies; hangs and stray exceptions are checked as for the small seeds.
    private static void AssertClean(FuzzReport report)
    {
        Assert.True(report.Crashes.Count == 0, report.ToString());
        Assert.True(report.Hungry.Count == 0, report.ToString());
        Assert.True(report.Accepted > 0 && report.RejectedByKind.Count >= 2, report.ToString());
    }
}
