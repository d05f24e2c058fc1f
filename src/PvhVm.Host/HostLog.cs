using System.Text.Json;
using Microsoft.Extensions.Logging;
using PvhVm.Control;

namespace PvhVm.Host;

/// <summary>
/// The host's ILogger: the engine's messages and the host's own, one JSON line each (<see cref="HostLogEntry"/>) in
/// host.log of the VM folder, where the cmdlets read them (HostLogReader) and write them to the pwsh streams. Bounded like
/// the console file: at <see cref="MaxFileBytes"/> it becomes host.log.1 and a new one begins. Any thread may log; a
/// write that fails (the folder removed by DELETE /vm, a full disk) is dropped, never an error of the VM; a line written
/// while the folder is being removed makes VmFolder.Delete take its second pass.
/// </summary>
internal sealed class HostLog(VmFolder folder) : MessageLogger
{
    public const long MaxFileBytes = 1 << 20;

    private readonly object _gate = new();

    protected override void Write(LogLevel level, string message)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(new HostLogEntry(DateTimeOffset.Now, level, message), ControlJson.Default.HostLogEntry);
        lock (_gate)
        {
            try
            {
                using var file = new FileStream(folder.HostLogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                file.Write([.. line, (byte)'\n']);
                if (file.Length >= MaxFileBytes)
                {
                    file.Dispose();
                    File.Move(folder.HostLogPath, folder.PreviousHostLogPath, overwrite: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Nowhere to write: the message is lost, the VM goes on.
            }
        }
    }
}
