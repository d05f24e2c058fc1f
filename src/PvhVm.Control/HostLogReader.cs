using System.Text.Json;

namespace PvhVm.Control;

/// <summary>
/// Follows a host's log (host.log in its VM folder) for a client: each <see cref="ReadNew"/> returns the entries written
/// since the last one. Thread-safe. A log that went to host.log.1 at its bound meanwhile is read on from its start; the
/// lines that went with it unread are lost (the bound is what keeps a chatty engine from filling the disk).
/// </summary>
public sealed class HostLogReader
{
    private readonly object _gate = new();
    private readonly VmFolder _folder;
    private long _offset;
    private ulong? _file;

    /// <param name="fromStart">Every entry the host has logged (the session that made the VM); otherwise only those after now.</param>
    public HostLogReader(VmFolder folder, bool fromStart)
    {
        _folder = folder;
        if (!fromStart)
        {
            try
            {
                using var stream = Open();
                (_file, _offset) = (Posix.InodeOf(stream.SafeFileHandle), stream.Length);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // No log yet: everything it will hold is new.
            }
        }
    }

    public IReadOnlyList<HostLogEntry> ReadNew()
    {
        lock (_gate)
        {
            byte[] bytes;
            try
            {
                using var stream = Open();
                var file = Posix.InodeOf(stream.SafeFileHandle);
                if (file != _file || stream.Length < _offset)
                {
                    // The host moved its log to host.log.1 and began a new one (or this is the first read).
                    (_file, _offset) = (file, _file is null ? Math.Min(_offset, stream.Length) : 0);
                }

                bytes = new byte[stream.Length - _offset];
                stream.Position = _offset;
                stream.ReadExactly(bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return [];
            }

            // Only whole lines: the host may be writing the next one.
            var end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
            _offset += end;
            var entries = new List<HostLogEntry>();
            for (var start = 0; start < end;)
            {
                var length = Array.IndexOf(bytes, (byte)'\n', start) - start;
                if (length > 0 && Parse(bytes.AsSpan(start, length)) is { } entry)
                {
                    entries.Add(entry);
                }

                start += length + 1;
            }

            return entries;
        }
    }

    private static HostLogEntry? Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, ControlJson.Default.HostLogEntry);
        }
        catch (JsonException)
        {
            // The host writes whole JSON lines; anything else in the file is not its and is skipped.
            return null;
        }
    }

    private FileStream Open() => new(_folder.HostLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
}
