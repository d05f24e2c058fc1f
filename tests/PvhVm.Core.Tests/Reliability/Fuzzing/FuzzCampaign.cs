namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>What a campaign saw: inputs, outcomes, distinct crash signatures, the slowest and hungriest input.</summary>
internal sealed class FuzzReport
{
    public int Inputs { get; set; }

    public int Accepted { get; set; }

    public SortedDictionary<string, int> RejectedByKind { get; } = [];

    public HashSet<string> Signatures { get; } = [];

    /// <summary>Crash signature, how often, and a saved input that reproduces it.</summary>
    public SortedDictionary<string, (int Count, string Sample)> Crashes { get; } = [];

    /// <summary>Inputs whose allocation passed the bound, with a saved sample.</summary>
    public List<(long Bytes, string Sample)> Hungry { get; } = [];

    public TimeSpan Slowest { get; set; }

    public long MostAllocated { get; set; }

    public int CorpusSize { get; set; }

    public override string ToString()
        => $"{Inputs} inputs, {Accepted} accepted, rejected {string.Join(", ", RejectedByKind.Select(p => $"{p.Key} {p.Value}"))}; "
            + $"{Signatures.Count} distinct outcomes, corpus grew to {CorpusSize}; slowest {Slowest.TotalMilliseconds:F1} ms, "
            + $"most allocated {MostAllocated / 1024} KiB; crashes: {(Crashes.Count == 0 ? "none" : string.Join("; ", Crashes.Select(c => $"{c.Key} x{c.Value.Count} ({c.Value.Sample})")))}"
            + (Hungry.Count == 0 ? "" : $"; over the allocation bound: {string.Join("; ", Hungry.Take(5).Select(h => $"{h.Bytes} bytes ({h.Sample})"))}");
}

/// <summary>
/// A seeded mutation campaign with outcome feedback: an input that makes the parser take a path it has not
/// taken before (a new accept/reject signature) joins the corpus and is mutated further, as coverage-guided
/// fuzzers keep inputs that reach new code. Deterministic for a given seed and corpus.
/// </summary>
internal sealed class FuzzCampaign(IReadOnlyList<FuzzSeed> seeds, int randomSeed, long allocationBound, string crashDirectory)
{
    private const int MaximumCorpus = 2000;

    /// <summary>Index of the input running now and when it started (Stopwatch ticks); read by a hang watchdog.</summary>
    public long CurrentInput;
    public long CurrentStarted;

    public FuzzReport Run(int inputs, FuzzTarget target)
    {
        var report = new FuzzReport();
        var corpus = new List<FuzzSeed>(seeds);
        var mutator = new Mutator(randomSeed);
        var pick = new Random(randomSeed ^ 0x5eed);
        for (int i = 0; i < inputs; i++)
        {
            // Half the inputs start from a seed, so the corpus's broken descendants cannot crowd out well-formed ones.
            var parent = pick.Next(2) == 0 ? seeds[pick.Next(seeds.Count)] : corpus[pick.Next(corpus.Count)];
            var input = mutator.Mutate(parent, corpus[pick.Next(corpus.Count)]);
            Volatile.Write(ref CurrentStarted, System.Diagnostics.Stopwatch.GetTimestamp());
            Volatile.Write(ref CurrentInput, i);
            var outcome = target.Run(input);
            report.Inputs++;
            report.Slowest = outcome.Elapsed > report.Slowest ? outcome.Elapsed : report.Slowest;
            report.MostAllocated = Math.Max(report.MostAllocated, outcome.AllocatedBytes);
            if (outcome.Kind is { } kind)
            {
                report.RejectedByKind[kind.ToString()] = report.RejectedByKind.GetValueOrDefault(kind.ToString()) + 1;
            }
            else if (outcome.Crash is null)
            {
                report.Accepted++;
            }

            if (outcome.Crash is { } crash)
            {
                var known = report.Crashes.TryGetValue(crash, out var seen);
                report.Crashes[crash] = (seen.Count + 1, known ? seen.Sample : Save(input, $"crash-{report.Crashes.Count}"));
            }

            if (outcome.AllocatedBytes > allocationBound + (16L * input.Length))
            {
                report.Hungry.Add((outcome.AllocatedBytes, Save(input, $"alloc-{report.Hungry.Count}")));
            }

            if (report.Signatures.Add(outcome.Signature) && corpus.Count < MaximumCorpus)
            {
                corpus.Add(parent with { Name = $"{parent.Name}+{i}", Bytes = input });
            }
        }

        report.CorpusSize = corpus.Count;
        return report;
    }

    private string Save(byte[] input, string name)
    {
        Directory.CreateDirectory(crashDirectory);
        var path = Path.Combine(crashDirectory, $"{name}-{randomSeed}.img");
        File.WriteAllBytes(path, input);
        return path;
    }
}
