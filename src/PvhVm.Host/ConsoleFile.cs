using System.Text;
using PvhVm.Core.Machine;
using PvhVm.Control;

namespace PvhVm.Host;

/// <summary>
/// Copies the console to console.log in the VM's folder, line by line as the guest prints, so the output outlives the
/// host process. Bounded: at <see cref="MaxFileBytes"/> the file becomes console.log.1 (replacing the one before) and a
/// new one begins, so a chatty guest holds at most twice that on disk.
/// </summary>
internal static class ConsoleFile
{
    public const long MaxFileBytes = 1 << 20;

    /// <summary>Runs until the console completes (the VM ended) or the folder is gone.</summary>
    public static void Follow(ConsoleLog console, VmFolder folder)
    {
        try
        {
            var file = Open(folder.ConsolePath);
            try
            {
                var seen = -1L;
                while (true)
                {
                    foreach (var line in console.ReadAfter(seen))
                    {
                        file.Write(Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{line.Elapsed.TotalSeconds:0.000000} {line.Text}\n")));
                        seen = line.Sequence;
                        if (file.Length >= MaxFileBytes)
                        {
                            file.Dispose();
                            File.Move(folder.ConsolePath, folder.PreviousConsolePath, overwrite: true);
                            file = Open(folder.ConsolePath);
                        }
                    }

                    file.Flush();
                    if (!console.WaitForLinesAfter(seen, Timeout.InfiniteTimeSpan, CancellationToken.None)
                        && console.IsCompleted && console.ReadAfter(seen).Count == 0)
                    {
                        return;
                    }
                }
            }
            finally
            {
                file.Dispose();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder was removed under it (DELETE /vm): there is nowhere to write.
        }
    }

    private static FileStream Open(string path) => new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
}
