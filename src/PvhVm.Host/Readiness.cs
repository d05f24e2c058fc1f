using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using PvhVm.Control;

namespace PvhVm.Host;

/// <summary>The host's one line to its launcher, and then no more use of the launcher's pipes.</summary>
internal static class Readiness
{
    /// <summary>
    /// The line in one write(2) on stdout, not through Console.Out: that writer would first set up terminal and signal
    /// handling (a thread of its own) and hand the line out in 256-byte pieces, each a wake-up of the launcher.
    /// </summary>
    public static void Report(HostReadiness readiness)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(readiness, ControlJson.Default.HostReadiness);
        using var stdout = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        stdout.Write([.. line, (byte)'\n']);
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
