using System.Buffers.Binary;
using System.Diagnostics;
using PvhVm.Core.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>
/// Thousands of seeded, randomly corrupted copies of the real kernel through the parser: the only exception
/// allowed out is <see cref="KernelImageException"/>, and no image may take long (a hang guard, not a benchmark).
/// Corruption aims at the bytes the parser reads (headers, notes, section table, setup header, payload ends).
/// </summary>
[Collection(DebianKernelCollection.Name)]
public sealed class MutationTests(DebianKernelFixture kernel, ITestOutputHelper output)
{
    private static readonly TimeSpan PerImageBound = TimeSpan.FromSeconds(10);
    private static readonly uint[] InterestingWords = [0, 1, 3, 4, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff];

    [Fact]
    public void Corrupted_vmlinux_images_only_ever_raise_KernelImageException()
    {
        var image = File.ReadAllBytes(kernel.VmlinuxPath);
        var info = KernelInspector.Inspect(kernel.VmlinuxPath);
        var notes = info.Segments.First(s => s.Type == "NOTE");
        int sectionTable = (int)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(40));
        (int Start, int Length)[] targets =
        [
            (0, 64 + info.Segments.Count * 56),
            ((int)notes.Offset, (int)notes.FileSize),
            (sectionTable, image.Length - sectionTable),
            (0, image.Length),
        ];
        Run(image, targets, iterations: 2700, seed: 20261125);
    }

    [Fact]
    public void Corrupted_bzimages_only_ever_raise_KernelImageException()
    {
        var image = File.ReadAllBytes(kernel.VmlinuzPath);
        var header = KernelInspector.Inspect(kernel.VmlinuzPath).SetupHeader!;
        int payload = header.ProtectedModeOffset + (int)header.PayloadOffset;
        (int Start, int Length)[] targets =
        [
            (0x1f1, 0x268 - 0x1f1),
            (payload, 64),
            (payload + (int)header.PayloadLength - 8, 8),
        ];
        Run(image, targets, iterations: 700, seed: 7);
    }

    private void Run(byte[] image, (int Start, int Length)[] targets, int iterations, int seed)
    {
        var random = new Random(seed);
        var saved = new List<(int Position, uint Word)>();
        int rejected = 0;
        var slowest = TimeSpan.Zero;
        for (int i = 0; i < iterations; i++)
        {
            int length = image.Length;
            int mutations = random.Next(1, 5);
            for (int m = 0; m < mutations; m++)
            {
                var (start, size) = targets[random.Next(targets.Length)];
                int position = Math.Min(start + random.Next(size), image.Length - 4) & ~3;
                saved.Add((position, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(position))));
                switch (random.Next(4))
                {
                    case 0:
                        image[position + random.Next(4)] ^= (byte)(1 << random.Next(8));
                        break;
                    case 1:
                        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(position), InterestingWords[random.Next(InterestingWords.Length)]);
                        break;
                    case 2:
                        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(position), (uint)random.Next());
                        break;
                    default:
                        length = position;   // truncate here
                        break;
                }
            }

            var clock = Stopwatch.StartNew();
            try
            {
                KernelImage.Parse($"mutant {i}", image.AsSpan(0, length));
            }
            catch (KernelImageException)
            {
                rejected++;
            }

            clock.Stop();
            Assert.True(clock.Elapsed < PerImageBound, $"mutant {i} took {clock.Elapsed}");
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;

            // Undo in reverse so overlapping mutations restore the original bytes.
            for (int s = saved.Count - 1; s >= 0; s--)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(saved[s].Position), saved[s].Word);
            }

            saved.Clear();
        }

        output.WriteLine($"{iterations} mutants: {rejected} rejected with KernelImageException, slowest {slowest.TotalMilliseconds:F1} ms");
        Assert.InRange(rejected, 1, iterations);
    }
}
