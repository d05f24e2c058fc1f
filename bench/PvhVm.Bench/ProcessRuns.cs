using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace PvhVm.Bench;

/// <summary>Other programs (QEMU, the C floor VMM, a cold pwsh) timed as processes, from spawn.</summary>
internal static class ProcessRuns
{
    /// <summary>Console rates are taken after this much running time, so start-up costs stay out of them.</summary>
    public static readonly TimeSpan FloodSkip = TimeSpan.FromSeconds(1);

    /// <summary>Spawn to exit, stdout and stderr drained; one JSON line per run.</summary>
    public static int Time(int runs, string[] command)
    {
        for (var i = 0; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            using var process = Process.Start(StartInfo(command))!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            var t1 = Stopwatch.GetTimestamp();
            Json.Line(new
            {
                ms = Json.Ms(t0, t1), exitCode = process.ExitCode, stdoutBytes = stdout.Result.Length,
                stderr = Tail(stderr.Result),
            });
        }

        return 0;
    }

    /// <summary>Spawn to the first stdout byte and to the first line matching the pattern; then the process is killed.</summary>
    public static int Console(double timeoutSeconds, string pattern, string[] command)
    {
        var regex = new Regex(pattern);
        var t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(StartInfo(command))!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stream = process.StandardOutput.BaseStream;
        var buffer = new byte[65536];
        var line = new StringBuilder();
        double? firstByteMs = null, matchMs = null;
        var total = 0L;
        var read = stream.ReadAsync(buffer);
        var deadline = TimeSpan.FromSeconds(timeoutSeconds);
        while (matchMs is null)
        {
            var left = deadline - Stopwatch.GetElapsedTime(t0);
            if (left <= TimeSpan.Zero || !read.AsTask().Wait(left) || read.Result == 0)
            {
                break;
            }

            var n = read.Result;
            var now = Stopwatch.GetTimestamp();
            firstByteMs ??= Json.Ms(t0, now);
            total += n;
            foreach (var c in Encoding.Latin1.GetString(buffer, 0, n))
            {
                if (c != '\n')
                {
                    line.Append(c);
                }
                else if (regex.IsMatch(line.ToString()))
                {
                    matchMs = Json.Ms(t0, now);
                    break;
                }
                else
                {
                    line.Clear();
                }
            }

            read = stream.ReadAsync(buffer);
        }

        process.Kill();
        process.WaitForExit();
        Json.Line(new { firstByteMs, matchMs, bytes = total, stderr = Tail(stderr.Result) });
        return 0;
    }

    /// <summary>Growth of a file the process writes (QEMU's -serial file:) in a window one second after spawn.</summary>
    public static int FileRate(string path, double seconds, string[] command)
    {
        File.Delete(path);
        using var process = Process.Start(StartInfo(command))!;
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Thread.Sleep(FloodSkip);
        var before = new FileInfo(path).Length;
        var t0 = Stopwatch.GetTimestamp();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        var bytes = new FileInfo(path).Length - before;
        var window = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        process.Kill();
        process.WaitForExit();
        Json.Line(new { seconds = window, bytes, bytesPerSecond = bytes / window, stderr = Tail(stderr.Result) });
        return 0;
    }

    private static ProcessStartInfo StartInfo(string[] command)
    {
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var argument in command[1..])
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private static string Tail(string text) => text.Length <= 300 ? text : text[^300..];
}
