using System.Text.Json;
using PvhVm.Control;
using PvhVm.Core.Machine;
using PvhVm.Host;
using PvhVm.Host.Http;

// pvhvm-host --folder <vm folder>: runs the VM configured in the folder's config.json (or restored from the checkpoint
// its restore.json names), serving its REST API on the folder's api.sock, until DELETE /vm. HostLauncher starts it
// detached; it reports one JSON line on stdout (ready, or why the VM could not be created) and then lets go of
// stdin/stdout/stderr.
const int Usage = 64;
const int CreateFailed = 2;

Isolation.CloseInheritedDescriptors();
if (args is ["--check-seccomp"])
{
    return Isolation.CheckSeccomp();
}

if (args is not ["--folder", var folderPath])
{
    Console.Error.WriteLine("usage: pvhvm-host --folder <vm folder> | --check-seccomp");
    return Usage;
}

var folder = new VmFolder(Path.GetFullPath(folderPath));
HostedVm hosted;
try
{
    hosted = new HostedVm(folder, File.Exists(folder.RestorePath) ? HostedVm.Restore(folder) : new VirtualMachine(
        JsonSerializer.Deserialize(File.ReadAllBytes(folder.ConfigPath), ControlJson.Default.VmConfig)
            ?? throw new InvalidDataException($"{folder.ConfigPath} holds no VM config.")));
}
catch (Exception e)
{
    Readiness.Report(new HostReadiness(null, ApiErrors.From(e).Error));
    return CreateFailed;
}

using (hosted)
{
    using var deleted = new CancellationTokenSource();
    using var server = new HttpServer(HttpServer.Listen(folder.SocketPath));
    var api = new VmApi(hosted, server.StopListening, deleted.Cancel);
    hosted.SaveState();
    // From here on the host only serves and runs its VM: every call it makes is on the measured list.
    Isolation.Confine();
    Readiness.Report(new HostReadiness(hosted.Describe(), null));
    Readiness.ReleaseStandardStreams();
    await server.RunAsync(api.HandleAsync, deleted.Token);
}

return 0;
