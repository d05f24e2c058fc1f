using System.Diagnostics;

namespace PvhVm.Core.Tests.Reliability.Host;

/// <summary>Runs the test assembly as a child process (see <see cref="ChildProcess"/>), optionally through a wrapper such as setpriv or prlimit.</summary>
internal static class ChildRun
{
    public static Dictionary<string, List<string>> Run(string[] wrapper, params string[] arguments)
    {
        var start = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in wrapper.Skip(1).Concat(wrapper.Length > 0 ? ["dotnet"] : []))
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add(typeof(ChildRun).Assembly.Location);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A user without a home directory: keep the runtime from looking for one.
        start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        start.Environment["HOME"] = Path.GetTempPath();
        // Loading ICU needs descriptors that the exhaustion tests use up.
        start.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"child {string.Join(' ', arguments)} hung");
        }

        process.WaitForExit();
        Assert.True(process.ExitCode is 0 or 3, $"child {string.Join(' ', arguments)} exited {process.ExitCode}: {output.Result} {errors.Result}");
        var facts = new Dictionary<string, List<string>>();
        foreach (var line in output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = line.IndexOf('=');
            if (equals > 0)
            {
                var key = line[..equals];
                facts.TryAdd(key, []);
                facts[key].Add(line[(equals + 1)..]);
            }
        }

        return facts;
    }
}
