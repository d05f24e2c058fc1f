using System.Diagnostics;
using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>
/// Debian's cloud kernel, fetched by scripts/get-test-kernel.sh into a cache outside the work tree
/// (reused when present), and its ELF vmlinux, extracted once with our own decompressor and cached beside it.
/// Share it with [Collection(DebianKernelCollection.Name)].
/// </summary>
public sealed class DebianKernelFixture
{
    public DebianKernelFixture()
    {
        var (output, _) = Run("bash", [Path.Combine(RepositoryRoot, "scripts", "get-test-kernel.sh")], TimeSpan.FromMinutes(10));
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2 || !File.Exists(lines[0]))
        {
            throw new InvalidOperationException($"get-test-kernel.sh printed no kernel path and version: '{output}'");
        }

        VmlinuzPath = lines[0];
        PackageVersion = lines[1];
        VmlinuxPath = Path.Combine(CacheDirectory, Path.GetFileName(VmlinuzPath).Replace("vmlinuz", "vmlinux", StringComparison.Ordinal));
        if (!File.Exists(VmlinuxPath))
        {
            ExtractVmlinux();
        }
    }

    /// <summary>The bzImage (LZ4 payload) as shipped in the package.</summary>
    public string VmlinuzPath { get; }

    /// <summary>The ELF vmlinux inside it.</summary>
    public string VmlinuxPath { get; }

    /// <summary>The Debian package version, e.g. "6.1.158-1"; the kernel banner names it.</summary>
    public string PackageVersion { get; }

    /// <summary>The package's cache folder; tests may keep derived files here.</summary>
    public string CacheDirectory => Path.GetDirectoryName(VmlinuzPath)!;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Runs a program, returns its stdout and stderr; a non-zero exit or a timeout throws.</summary>
    public static (string Output, string Error) Run(string program, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {timeout}");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {error.Result}");
        }

        return (output.Result, error.Result);
    }

    // Test runs and fixtures (in this process or others) may share the cache: write a private file, then rename it into place.
    private void ExtractVmlinux()
    {
        string temporary = Path.Combine(CacheDirectory, $".vmlinux-{Guid.NewGuid():N}.tmp");
        using (var image = KernelImage.Open(VmlinuzPath))
        using (var file = File.Create(temporary))
        {
            image.CopyElfTo(file);
        }

        File.Move(temporary, VmlinuxPath, overwrite: true);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "scripts", "get-test-kernel.sh")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no scripts/get-test-kernel.sh above {AppContext.BaseDirectory}");
    }
}
