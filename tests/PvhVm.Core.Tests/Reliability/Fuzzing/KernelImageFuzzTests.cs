using System.Diagnostics;
using PvhVm.Core.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>
/// Mutated kernel images through the public reader: only <see cref="KernelImageException"/> may come out, no input
/// may take long (a hang guard, not a benchmark), and none may make the reader allocate far beyond its own size.
/// The slow suite runs the same campaign with 100,000+ inputs.
/// </summary>
public sealed class KernelImageFuzzTests(ITestOutputHelper output)
{
    /// <summary>Per-input allocation allowed on top of 16 bytes per input byte: the seeds are a few KiB to 1 MiB.</summary>
    public const long AllocationBound = 64L << 20;

    private static readonly TimeSpan PerInputBound = TimeSpan.FromSeconds(30);

    [Fact]
    public void EverySeedIsAPvhBootableImage()
    {
        using var target = new FuzzTarget();
        foreach (var seed in FuzzCorpus.Seeds)
        {
            var outcome = target.Run(seed.Bytes);
            Assert.True(outcome.Signature.EndsWith(" pvh", StringComparison.Ordinal), $"{seed.Name}: {outcome.Signature} {outcome.Crash}");
            Assert.NotEmpty(seed.Fields);
        }
    }

    [Fact]
    public void ThreeThousandMutantsRaiseOnlyKernelImageException()
    {
        var report = RunCampaign(FuzzCorpus.Seeds, inputs: 3000, randomSeed: 20261125, output);
        AssertClean(report);
    }

    internal static FuzzReport RunCampaign(IReadOnlyList<FuzzSeed> seeds, int inputs, int randomSeed, ITestOutputHelper output)
    {
        var crashes = Path.Combine(Path.GetTempPath(), "pvhvm-fuzz-findings");
        var campaign = new FuzzCampaign(seeds, randomSeed, AllocationBound, crashes);
        using var target = new FuzzTarget();
        FuzzReport? report = null;
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try
            {
                report = campaign.Run(inputs, target);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 16 << 20) { IsBackground = true, Name = "fuzz campaign" };
        worker.Start();
        while (!worker.Join(200))
        {
            var running = Stopwatch.GetElapsedTime(Volatile.Read(ref campaign.CurrentStarted));
            if (Volatile.Read(ref campaign.CurrentStarted) != 0 && running > PerInputBound)
            {
                var stuck = Path.Combine(crashes, $"hang-{randomSeed}.img");
                Directory.CreateDirectory(crashes);
                File.Copy(target.InputPath, stuck, overwrite: true);
                Assert.Fail($"input {campaign.CurrentInput} of seed {randomSeed} has run for {running}: saved as {stuck}");
            }
        }

        Assert.Null(failure);
        output.WriteLine($"seed {randomSeed}: {report}");
        return report!;
    }

    internal static void AssertClean(FuzzReport report)
    {
        Assert.True(report.Crashes.Count == 0, report.ToString());
        Assert.True(report.Hungry.Count == 0, report.ToString());
        Assert.True(report.Slowest < PerInputBound, report.ToString());
        // The campaign reached both outcomes: mutants that still parse and several kinds of rejection.
        Assert.True(report.Accepted > 0 && report.RejectedByKind.Count >= 4, report.ToString());
    }
}
