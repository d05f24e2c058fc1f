using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kernel;
using PvhVm.Core.Tests.Machine;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>
/// The test kernel checkpointed once its /init's command reader says ready (tests/kernel/init.c, pvhtest.shell=1), then
/// restored twice, each clone on a copy of the disk as the checkpoint saw it: each restored Linux answers the command
/// typed on its console with its own reply, sleeps on its timer, and a disk write in one clone shows neither in the other
/// clone nor in the checkpointed image. One boot (30-70 s here); the restores take milliseconds.
/// </summary>
[Collection(TestKernelCollection.Name)]
public sealed class LinuxCheckpointTests(TestKernelFixture kernel, ITestOutputHelper output) : IDisposable
{
    private const int DiskBytes = 8 << 20;

    /// <summary>Where init.c's disk-write and disk-read work (SHELL_DISK_OFFSET).</summary>
    private const int ShellDiskOffset = 5 << 20;

    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("pvhvm-linux-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void TwoRestoredLinuxShellsAnswerOnTheirOwnAndKeepTheirDiskWritesApart()
    {
        var baseImage = Path.Combine(_folder, "base.img");
        using (var image = File.Create(baseImage))
        {
            image.SetLength(DiskBytes);
        }

        var checkpointFolder = Path.Combine(_folder, "checkpoint");
        var config = new VmConfig("linux-shell", kernel.VmlinuxPath, kernel.InitramfsPath,
            TestKernelFixture.CommandLine("poweroff") + " pvhtest.shell=1", TestKernelBoot.MemoryMB, 1)
        {
            Disks = [new DiskConfig(baseImage)],
        };
        var images = new[] { Path.Combine(_folder, "linux-1.img"), Path.Combine(_folder, "linux-2.img") };
        using (var vm = new VirtualMachine(config))
        {
            var boot = Stopwatch.StartNew();
            vm.Start();
            WaitForLine(vm, "^pvhtest: ready$", TestKernelBoot.BootBound, after: -1);
            output.WriteLine($"booted to the ready line in {boot.Elapsed.TotalSeconds:F1} s");
            Ask(vm, "disk-write before the checkpoint", "^pvhtest: disk_wrote=ok$");
            vm.Suspend();
            vm.CreateCheckpoint(checkpointFolder);
            // Each clone's image is a copy of the disk as the checkpoint saw it: made while the VM is paused.
            foreach (var image in images)
            {
                File.Copy(baseImage, image);
            }

            vm.Stop();
        }

        var clones = new List<VirtualMachine>();
        try
        {
            foreach (var (image, index) in images.Select((image, index) => (image, index)))
            {
                var restore = Stopwatch.StartNew();
                var clone = VirtualMachine.Restore(checkpointFolder, new CheckpointRestoreOptions { Name = $"linux-{index + 1}", DiskPaths = [image] });
                clones.Add(clone);
                clone.Start();
                output.WriteLine($"{clone.Name} restored and running in {restore.Elapsed.TotalMilliseconds:F1} ms");
            }

            foreach (var clone in clones)
            {
                var asked = Stopwatch.StartNew();
                Ask(clone, $"echo from {clone.Name}", $"^pvhtest: echo=from {clone.Name}$");
                output.WriteLine($"{clone.Name} answered in {asked.Elapsed.TotalMilliseconds:F0} ms");
                // A timer armed after the restore fires: the LAPIC's TSC deadline came back with the vCPU.
                Ask(clone, "sleep 200", "^pvhtest: slept=200$");
            }

            Ask(clones[0], "disk-write written by linux-1", "^pvhtest: disk_wrote=ok$");
            Ask(clones[0], "disk-read", "^pvhtest: disk_read=written by linux-1$");
            Ask(clones[1], "disk-read", "^pvhtest: disk_read=before the checkpoint$");
            foreach (var clone in clones)
            {
                Assert.Equal(VmState.Running, clone.State);
                clone.Stop();
            }

            // The guest's page cache could answer disk-read from memory: the images say what reached each disk.
            Assert.Equal("written by linux-1", LineAt(images[0]));
            Assert.Equal("before the checkpoint", LineAt(images[1]));
            Assert.Equal("before the checkpoint", LineAt(baseImage));
        }
        finally
        {
            foreach (var clone in clones)
            {
                output.WriteLine($"--- {clone.Name}: {clone.State} {clone.ExitReason} {clone.Fault}");
                foreach (var line in clone.Console.Snapshot())
                {
                    output.WriteLine($"{line.Elapsed.TotalSeconds,8:F3} {line.Text}");
                }

                clone.Dispose();
            }
        }
    }

    /// <summary>Types <paramref name="command"/> and a newline, and waits for a later line matching <paramref name="answer"/>.</summary>
    private static void Ask(VirtualMachine vm, string command, string answer)
    {
        var after = vm.Console.TotalLines - 1;
        vm.SendConsole(Encoding.UTF8.GetBytes(command + "\n"));
        WaitForLine(vm, answer, AnswerBound, after);
    }

    private static void WaitForLine(VirtualMachine vm, string pattern, TimeSpan bound, long after)
    {
        var regex = new Regex(pattern);
        var elapsed = Stopwatch.StartNew();
        while (!vm.Console.ReadAfter(after).Any(line => regex.IsMatch(line.Text)))
        {
            if (elapsed.Elapsed > bound || vm.Console.IsCompleted)
            {
                var console = string.Join('\n', vm.Console.Snapshot().TakeLast(40).Select(l => $"{l.Elapsed.TotalSeconds,8:F3} {l.Text}"));
                Assert.Fail($"{vm.Name} printed no line matching '{pattern}' within {bound} ({vm.State} {vm.ExitReason} {vm.Fault}); console:\n{console}");
            }

            vm.Console.WaitForLinesAfter(vm.Console.TotalLines - 1, TimeSpan.FromMilliseconds(200), CancellationToken.None);
        }
    }

    /// <summary>The text at <see cref="ShellDiskOffset"/> of an image up to its first newline, as init.c's disk-read reads it.</summary>
    private static string LineAt(string image)
    {
        using var file = File.OpenRead(image);
        file.Position = ShellDiskOffset;
        var page = new byte[4096];
        file.ReadExactly(page);
        var end = page.AsSpan().IndexOfAny((byte)'\n', (byte)0);
        return Encoding.ASCII.GetString(page, 0, end < 0 ? page.Length : end);
    }
}
