using System.Management.Automation;
using PvhVm.Core.Kernel;

namespace PvhVm.Module.Commands;

/// <summary>
/// <para type="synopsis">Describes kernel images: format, compression, PVH entry point, Linux version, segments and ELF notes.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PvhBootInfo", DefaultParameterSetName = PathSet)]
[OutputType(typeof(BootInfo))]
public sealed class GetPvhBootInfoCommand : PSCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    /// <summary>Image paths; wildcards expand through the provider.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>Image paths taken exactly as written; FileInfo objects bind here through PSPath.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    protected override void ProcessRecord()
    {
        var files = ParameterSetName == LiteralPathSet ? LiteralPath.Select(ResolveLiteral) : Path.SelectMany(ResolveWildcards);
        foreach (var file in files.OfType<string>())
        {
            try
            {
                var info = PSObject.AsPSObject(KernelInspector.Inspect(file));
                info.TypeNames.Insert(0, "PvhVm.BootInfo");
                WriteObject(info);
            }
            catch (KernelImageException e)
            {
                WriteError(EngineErrors.Record(e, e.Path));
            }
        }
    }

    private IEnumerable<string> ResolveWildcards(string path)
    {
        try
        {
            var resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out var provider);
            return IsFileSystem(provider, path) ? resolved : [];
        }
        catch (SessionStateException e)
        {
            WriteNotFound(path, e);
            return [];
        }
    }

    private string? ResolveLiteral(string path)
    {
        try
        {
            var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            return IsFileSystem(provider, path) ? resolved : null;
        }
        catch (SessionStateException e)
        {
            WriteNotFound(path, e);
            return null;
        }
    }

    // A missing item, drive or provider.
    private void WriteNotFound(string path, SessionStateException e)
        => WriteError(EngineErrors.Record(new KernelImageException(KernelImageErrorKind.NotFound, path, e.Message, e), path));

    private bool IsFileSystem(ProviderInfo provider, string path)
    {
        if (provider.Name == "FileSystem")
        {
            return true;
        }

        WriteError(EngineErrors.Record(new KernelImageException(KernelImageErrorKind.NotAFile, path, $"the {provider.Name} provider holds no files"), path));
        return false;
    }
}
