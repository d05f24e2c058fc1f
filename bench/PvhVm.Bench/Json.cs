using System.Text.Json;

namespace PvhVm.Bench;

/// <summary>One JSON object per line on stdout: the driver script reads them with ConvertFrom-Json.</summary>
internal static class Json
{
    public static void Line(object value) => Console.WriteLine(JsonSerializer.Serialize(value));

    public static double Ms(long startTimestamp, long endTimestamp)
        => System.Diagnostics.Stopwatch.GetElapsedTime(startTimestamp, endTimestamp).TotalMilliseconds;
}
