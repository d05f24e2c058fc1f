using System.Text.Json;
using PvhVm.Control;

namespace PvhVm.Host;

/// <summary>The host's one line to its launcher, and then no more use of the launcher's pipes.</summary>
internal static class Readiness
{
    public static void Report(HostReadiness readiness)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(readiness, ControlJson.Default.HostReadiness));
        Console.Out.Flush();
    }

    /// <summary>
    /// Points stdin, stdout and stderr at /dev/null: the launcher's pipes close when it goes (pwsh exits, SSH drops), and a
    /// later write into a closed pipe would raise SIGPIPE in a host that must outlive its launcher.
    /// </summary>
    public static void ReleaseStandardStreams()
    {
        var devNull = HostLibc.Open("/dev/null", 2 /* O_RDWR */);
        if (devNull < 0)
        {
            return;
        }

        for (var fd = 0; fd <= 2; fd++)
        {
            HostLibc.Dup2(devNull, fd);
        }

        HostLibc.Close(devNull);
    }
}
