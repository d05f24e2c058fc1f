using System.Text.Json.Serialization;

// kestrel-probe <socket path>: the slim builder (no configuration files, no logging providers), one route.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(args[0]));
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ProbeJson.Default));
var app = builder.Build();
app.MapGet("/vm", () => new ProbeStatus("Created"));
app.Run();

internal sealed record ProbeStatus(string State);

[JsonSerializable(typeof(ProbeStatus))]
internal sealed partial class ProbeJson : JsonSerializerContext;
