using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>The long campaigns (build.ps1 -Task SlowTest): 100,000 state mutants and 30,000 manifest mutants.</summary>
[Trait("Category", "Slow")]
public sealed class CheckpointReaderFuzzSlowTests(CheckpointFixture fixture, ITestOutputHelper output) : IClassFixture<CheckpointFixture>
{
    [Fact]
    public void AHundredThousandStateMutants() => new CheckpointReaderFuzzTests(fixture, output).FuzzState(100_000, 7);

    [Fact]
    public void ThirtyThousandManifestMutants() => new CheckpointReaderFuzzTests(fixture, output).FuzzManifest(30_000, 7);
}
