using System.Management.Automation;

namespace PvhVm.Module.Commands;

/// <summary>New-PvhDisk: creates a sparse raw disk image (all zeros, taking no space until written) for -DiskPath or Add-PvhVmDisk.</summary>
[Cmdlet(VerbsCommon.New, "PvhDisk", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FileInfo))]
public sealed class NewPvhDiskCommand : PvhCmdlet
{
    /// <summary>Binds by property name, with -SizeMB, so rows of a CSV file make one disk each.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The disk's size in MiB (1 MiB to 2 TiB).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 2 * 1024 * 1024)]
    public int SizeMB { get; set; }

    /// <summary>Replaces an existing file (its contents are lost).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        if (!TryResolveFileSystemPath(Path, out var resolved, out var error))
        {
            WriteError(error);
            return;
        }

        if (File.Exists(resolved) && !Force)
        {
            WriteError(VmErrors.DiskImageExists(resolved));
            return;
        }

        if (!ShouldProcess(resolved, $"Create a {SizeMB} MB sparse raw disk image"))
        {
            return;
        }

        try
        {
            using (var image = new FileStream(resolved, Force ? FileMode.Create : FileMode.CreateNew, FileAccess.Write))
            {
                image.SetLength((long)SizeMB << 20);
            }

            // Through the provider, so the file shows as Get-Item shows it (mode, size, name).
            WriteObject(InvokeProvider.Item.Get([WildcardPattern.Escape(resolved)], force: true, literalPath: true), enumerateCollection: true);
        }
        catch (IOException) when (File.Exists(resolved) && !Force)
        {
            // Created by someone else between the check and the open.
            WriteError(VmErrors.DiskImageExists(resolved));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(EngineErrors.Record(e, resolved));
        }
    }
}
