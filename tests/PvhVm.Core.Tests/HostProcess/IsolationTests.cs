using System.Diagnostics;
using System.Text.Json;
using PvhVm.Control;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>The host's confinement: no_new_privs, the seccomp filter enforced on every thread, no inherited descriptors.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IsolationTests : IDisposable
{
    private const int SIGSYS = 31;

    private readonly HostedVmScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public async Task ARunningHostHasNoNewPrivsAndItsSeccompFilterOnEveryThread()
    {
        var (_, vm, client) = _scope.Launch("confined", guest: "echo");
        using (client)
        {
            await client.ActAsync(VmAction.Start);
            Assert.Equal(VmState.Running, (await client.GetVmAsync()).Status.State);
            var checkedThreads = 0;
            foreach (var task in Directory.GetDirectories($"/proc/{vm.ProcessId}/task"))
            {
                string[] lines;
                try
                {
                    lines = File.ReadAllLines(Path.Combine(task, "status"));
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
                {
                    // A thread that ended between the listing and the read (the runtime's pool threads come and go).
                    continue;
                }

                var status = lines.ToDictionary(line => line.Split(':')[0], line => line.Split(':', 2)[1].Trim());
                Assert.Equal(("1", "2"), (status["NoNewPrivs"], status["Seccomp"]));
                checkedThreads++;
            }

            // The vCPU thread, the runtime's and the server's: several threads, every one confined.
            Assert.True(checkedThreads >= 3, $"only {checkedThreads} threads checked");
        }
    }

    [Fact]
    public void ACallOffTheListKillsTheHostWithSigsys()
    {
        using var process = Process.Start(new ProcessStartInfo(HostedVmScope.HostPath, "--check-seccomp") { RedirectStandardError = true })!;
        Assert.True(process.WaitForExit(20_000));
        Assert.Equal(128 + SIGSYS, process.ExitCode);
    }

    [Fact]
    public void DescriptorsInheritedThroughExecAreClosed()
    {
        // A folder as HostLauncher makes it, and a host started by a shell that leaves descriptor 7 open on a file.
        _scope.Directory.Ensure();
        var folder = _scope.Directory.FolderFor("inheritor");
        Directory.CreateDirectory(folder.Path);
        File.WriteAllBytes(folder.ConfigPath, JsonSerializer.SerializeToUtf8Bytes(new VmConfig("inheritor", GuestImages.PathOf("echo"), MemoryMB: 16), ControlJson.Default.VmConfig));
        var leaked = Path.Combine(_scope.Directory.Path, "leaked.txt");
        File.WriteAllText(leaked, "not for the host");
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var argument in (string[])["-c", "exec 7<\"$2\"; exec \"$0\" --folder \"$1\"", HostedVmScope.HostPath, folder.Path, leaked])
        {
            start.ArgumentList.Add(argument);
        }

        using var shell = Process.Start(start)!;
        var ready = JsonSerializer.Deserialize(shell.StandardOutput.ReadLine()!, ControlJson.Default.HostReadiness)!;
        var descriptors = Directory.GetFiles($"/proc/{ready.Vm!.ProcessId}/fd").Select(fd => new FileInfo(fd).LinkTarget).ToList();
        Assert.DoesNotContain(leaked, descriptors);
        Assert.DoesNotContain(descriptors, fd => fd == $"/proc/{ready.Vm.ProcessId}/fd/7");
        // The shell became the host (exec): no monitor here, so the test ends the host itself.
        shell.Kill();
        shell.WaitForExit();
    }
}
