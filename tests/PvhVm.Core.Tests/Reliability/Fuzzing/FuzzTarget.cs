using System.Text.RegularExpressions;
using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>How the parser took one input.</summary>
/// <param name="Signature">Accepted or rejected, with the kind and the shape of the message (numbers blanked): new ones grow the corpus.</param>
/// <param name="Crash">For anything but a clean <see cref="KernelImageException"/>: exception type and the Core frame that threw.</param>
internal sealed record FuzzOutcome(string Signature, KernelImageErrorKind? Kind, string? Crash, TimeSpan Elapsed, long AllocatedBytes);

/// <summary>
/// Feeds one input to the public reader exactly as a user's file would reach it: written to a file on tmpfs, then
/// <see cref="KernelInspector.Inspect"/> (statx, read-only mapping, ELF or bzImage parse, decompression, notes).
/// </summary>
internal sealed partial class FuzzTarget : IDisposable
{
    public FuzzTarget()
    {
        var directory = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        InputPath = Path.Combine(directory, $"pvhvm-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
    }

    /// <summary>Where the input under test is; it stays there when an input hangs.</summary>
    public string InputPath { get; }

    public FuzzOutcome Run(byte[] input)
    {
        File.WriteAllBytes(InputPath, input);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string signature;
        KernelImageErrorKind? kind = null;
        string? crash = null;
        try
        {
            var info = KernelInspector.Inspect(InputPath);
            signature = $"accepted {info.Format} {info.Compression} notes={Math.Min(info.Notes.Count, 4)} {Shape(info.NotPvhBootableReason ?? "pvh")}";
        }
        catch (KernelImageException e)
        {
            kind = e.Kind;
            signature = $"{e.Kind}: {Shape(e.Message.Replace(InputPath, "", StringComparison.Ordinal))}";
            crash = HiddenFailure(e);
        }
        catch (Exception e)
        {
            signature = "crash";
            crash = CrashSignature(e);
        }

        clock.Stop();
        return new FuzzOutcome(signature, kind, crash, clock.Elapsed, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
    }

    public void Dispose() => File.Delete(InputPath);

    /// <summary>"IndexOutOfRangeException at ElfReader.ReadSections": the type and the innermost Core frame.</summary>
    public static string CrashSignature(Exception e)
    {
        var frame = new System.Diagnostics.StackTrace(e).GetFrames()
            .Select(f => f.GetMethod())
            .FirstOrDefault(m => m?.DeclaringType?.Namespace?.StartsWith("PvhVm.Core", StringComparison.Ordinal) == true);
        var where = frame is null ? "outside PvhVm.Core" : $"{frame.DeclaringType!.Name}.{frame.Name}";
        return $"{e.GetType().Name} at {where}";
    }

    // A wrapped OutOfMemoryException is an allocation sized by the input, however politely reported.
    private static string? HiddenFailure(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is OutOfMemoryException or InsufficientExecutionStackException)
            {
                return $"{CrashSignature(inner)} (wrapped in KernelImageException {e.Message})";
            }
        }

        return null;
    }

    private static string Shape(string message) => Numbers().Replace(message, "#");

    [GeneratedRegex(@"(0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*")]
    private static partial Regex Numbers();
}
