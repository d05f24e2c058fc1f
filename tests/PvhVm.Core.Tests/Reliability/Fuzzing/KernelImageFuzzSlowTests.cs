using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>The long campaigns (build.ps1 -Task SlowTest): 120,000 mutants over the probe and bzImage seeds.</summary>
[Trait("Category", "Slow")]
public sealed class KernelImageFuzzSlowTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void ThirtyThousandMutantsPerSeedRaiseOnlyKernelImageException(int randomSeed)
    {
        var report = KernelImageFuzzTests.RunCampaign(FuzzCorpus.Seeds, inputs: 30_000, randomSeed, output);
        KernelImageFuzzTests.AssertClean(report);
    }
}
