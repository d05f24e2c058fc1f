using System.Text.Json;
using ScottPlot;

namespace PvhVm.Bench;

/// <summary>The fleet run as a picture: VMs started and exited over time, as two step lines.</summary>
internal static class FleetChart
{
    /// <summary>Reads {"title": ..., "vms": [{"startMs": .., "exitMs": ..}, ...]} (times from the pipeline's start).</summary>
    public static int Render(string jsonPath, string pngPath)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(jsonPath));
        var root = document.RootElement;
        var vms = root.GetProperty("vms").EnumerateArray().ToList();
        var starts = vms.Select(v => v.GetProperty("startMs").GetDouble()).Order().ToArray();
        var exits = vms.Select(v => v.GetProperty("exitMs").GetDouble()).Order().ToArray();

        var plot = new Plot();
        AddSteps(plot, starts, "started", Colors.SteelBlue);
        AddSteps(plot, exits, "exited", Colors.OrangeRed);
        plot.Title(root.GetProperty("title").GetString() ?? "fleet");
        plot.XLabel("milliseconds since the pipeline started");
        plot.YLabel("VMs");
        plot.ShowLegend(Alignment.LowerRight);
        plot.Axes.SetLimitsY(0, vms.Count * 1.05);
        plot.SavePng(pngPath, 900, 500);
        return 0;
    }

    private static void AddSteps(Plot plot, double[] times, string label, Color color)
    {
        var xs = new double[times.Length + 1];
        var ys = new double[times.Length + 1];
        for (var i = 0; i < times.Length; i++)
        {
            xs[i + 1] = times[i];
            ys[i + 1] = i + 1;
        }

        var line = plot.Add.ScatterLine(xs, ys, color);
        line.ConnectStyle = ConnectStyle.StepHorizontal;
        line.LineWidth = 2;
        line.LegendText = label;
    }
}
