namespace PvhVm.Core.Tests;

/// <summary>
/// Finds the host programs the tests run (compressors, iasl, gcc, qemu). Tests never install them: the repo's
/// prerequisites step does, so a missing one is a setup fault and the failure names that step.
/// </summary>
internal static class HostTools
{
    public const string PrerequisitesScript = "scripts/install-prerequisites.sh";

    /// <summary>The absolute path of <paramref name="program"/> on PATH; throws, naming the prerequisites script, when absent.</summary>
    public static string Require(string program)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var directory in directories)
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"'{program}' is not installed on this host. Run {PrerequisitesScript} (build.ps1 runs it before Test, SlowTest and Bench).");
    }
}
