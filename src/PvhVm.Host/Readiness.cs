using System.Runtime.InteropServices;
using System.Text.Json;
using PvhVm.Control;

namespace PvhVm.Host;

/// <summary>The host's one line to its launcher, and then no more use of the launcher's pipes.</summary>
internal static partial class Readiness
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
        var devNull = Open("/dev/null", 2 /* O_RDWR */);
        if (devNull < 0)
        {
            return;
        }

        for (var fd = 0; fd <= 2; fd++)
        {
            Dup2(devNull, fd);
        }

        Close(devNull);
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "dup2")]
    private static partial int Dup2(int from, int to);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
