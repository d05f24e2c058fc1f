using System.Text;
using System.Text.Json;
using PvhVm.Core.Machine;

namespace PvhVm.Control;

/// <summary>
/// One VM's folder in the runtime directory: its API socket, its config, the state its host last wrote, its console
/// log on disk (bounded) and, once the host process has ended, the exit status its monitor recorded.
/// </summary>
public sealed class VmFolder(string path)
{
    /// <summary>The longest VM name a folder holds: the socket path must fit sockaddr_un's 108 bytes.</summary>
    public const int MaxNameBytes = 48;

    public string Path { get; } = path;

    /// <summary>The folder's name: the VM's name, lower case (VM names are case-insensitive), percent-encoding '/', '%', control characters and a leading '.'.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    public string SocketPath => System.IO.Path.Combine(Path, "api.sock");

    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");

    /// <summary>Instead of config.json, for a VM restored from a checkpoint: the <see cref="RestoreRequest"/>.</summary>
    public string RestorePath => System.IO.Path.Combine(Path, "restore.json");

    public string StatePath => System.IO.Path.Combine(Path, "state.json");

    public string ConsolePath => System.IO.Path.Combine(Path, "console.log");

    /// <summary>Where the console log goes when it reaches its bound; the one before that is dropped.</summary>
    public string PreviousConsolePath => System.IO.Path.Combine(Path, "console.log.1");

    /// <summary>Written by the monitor shell when the host process ends: its exit status as the shell reports it ($?).</summary>
    public string ExitStatusPath => System.IO.Path.Combine(Path, "host.exit");

    public static string FolderName(string vmName)
    {
        var builder = new StringBuilder();
        foreach (var c in vmName.ToLowerInvariant())
        {
            // A leading '.' too, so that no name becomes "." or "..".
            var escape = c is '/' or '%' || char.IsControl(c) || c == '.' && builder.Length == 0;
            if (escape)
            {
                builder.Append('%').Append(((int)c).ToString("x2"));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Removes the folder and everything in it (a second pass if a file appeared while it was being emptied).</summary>
    public void Delete()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Removed already (a second DELETE, or Remove-PvhVm of a dead host racing another).
        }
        catch (IOException) when (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }

    /// <summary>The description the host last wrote (at start-up and at each state change), or null when there is none readable.</summary>
    public VmDescription? ReadState()
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(StatePath), ControlJson.Default.VmDescription);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Replaces the state file atomically (write, then rename), so a reader never sees half of it.</summary>
    public void WriteState(VmDescription description)
    {
        var temporary = StatePath + ".new";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(description, ControlJson.Default.VmDescription));
        File.Move(temporary, StatePath, overwrite: true);
    }

    /// <summary>
    /// The console lines the host copied to disk (console.log.1, then console.log), for a VM whose host has ended: each
    /// line as the host wrote it, "seconds text", numbered from 0 in file order; times count from <paramref name="startTime"/>.
    /// </summary>
    public IReadOnlyList<ConsoleLine> ReadConsoleFile(DateTimeOffset startTime)
    {
        var lines = new List<ConsoleLine>();
        foreach (var path in (string[])[PreviousConsolePath, ConsolePath])
        {
            string[] text;
            try
            {
                text = File.ReadAllLines(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var line in text)
            {
                var space = line.IndexOf(' ');
                if (space > 0 && double.TryParse(line.AsSpan(0, space), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
                {
                    var elapsed = TimeSpan.FromSeconds(seconds);
                    lines.Add(new ConsoleLine(lines.Count, startTime + elapsed, elapsed, line[(space + 1)..]));
                }
            }
        }

        return lines;
    }

    /// <summary>The host's exit status as the monitor recorded it, or null when it has not (yet) recorded one.</summary>
    public HostExit? ReadExit()
    {
        try
        {
            return int.TryParse(File.ReadAllText(ExitStatusPath).Trim(), out var status) ? HostExit.FromShellStatus(status) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
