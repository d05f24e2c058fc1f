using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PvhVm.Control;
using PvhVm.Host;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>
/// docs/api/pvhvm-host.openapi.json against the server: the same paths and methods, and what a live host answers has
/// the status codes and the required properties the document promises.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OpenApiDocumentTests : IDisposable
{
    private static readonly JsonObject Document = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "HostProcess", "pvhvm-host.openapi.json")))!.AsObject();

    private readonly HostedVmScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void TheDocumentDescribesExactlyTheRoutesTheServerServes()
    {
        var documented = Document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(operation => $"{operation.Key.ToUpperInvariant()} {path.Key}"))
            .Order().ToList();
        var served = VmApi.Routes.SelectMany(route => route.Value.Select(method => $"{method} {route.Key}")).Order().ToList();
        Assert.Equal(served, documented);
    }

    [Fact]
    public async Task WhatALiveHostAnswersMatchesTheDocumentedStatusesAndSchemas()
    {
        var (folder, _, client) = _scope.Launch("documented", guest: "echo");
        var checkpoint = Path.Combine(_scope.Directory.Path, "documented-checkpoint");
        using (client)
        {
            var exchanges = new (string Method, string Target, string? Body)[]
            {
                ("PUT", "/vm/checkpoint", "{\"path\":\"relative/folder\"}"),
                ("PUT", "/vm/checkpoint", "{}"),
                ("PUT", "/vm/checkpoint", $"{{\"path\":\"{checkpoint}\"}}"),
                ("PUT", "/vm/actions", "{\"action\":\"pause\"}"),
                ("GET", "/vm", null),
                ("GET", "/vm?wait=x", null),
                ("GET", "/vm/memory-map", null),
                ("GET", "/vm/disks", null),
                ("PUT", "/vm/disks", "{\"path\":\"/nonexistent/disk.img\"}"),
                ("PUT", "/vm/disks", "{\"readOnly\":true}"),
                ("DELETE", "/vm/disks?guestName=vdz", null),
                ("DELETE", "/vm/disks", null),
                ("GET", "/vm/network-adapters", null),
                ("PUT", "/vm/network-adapters", "{\"tapName\":\"bad name/\"}"),
                ("DELETE", "/vm/network-adapters?tapName=none0", null),
                ("PUT", "/vm/console/input", "{\"text\":\"x\"}"),
                ("PUT", "/vm/actions", "{\"action\":\"dance\"}"),
                ("PUT", "/vm/actions", "{\"action\":\"start\"}"),
                ("GET", "/vm/console?after=-1&wait=2000", null),
                ("PUT", "/vm/actions", "{\"action\":\"resume\"}"),
                ("PUT", "/vm/actions", "{\"action\":\"pause\"}"),
                ("GET", "/vm", null),
                ("PUT", "/vm/checkpoint", $"{{\"path\":\"{checkpoint}\"}}"),
                ("PUT", "/vm/checkpoint", $"{{\"path\":\"{checkpoint}\"}}"),
                ("PUT", "/vm/checkpoint", "{\"path\":\"/dev/null/checkpoint\"}"),
                ("PUT", "/vm/actions", "{\"action\":\"resume\"}"),
                ("GET", "/vm?wait=100", null),
                ("GET", "/vm/console?tail=x", null),
                ("GET", "/vm/memory-map", null),
                ("PUT", "/vm/console/input", "{\"text\":\"x\"}"),
                ("PUT", "/vm/actions", "{\"action\":\"stop\"}"),
                ("PUT", "/vm/actions", "{\"action\":\"stop\"}"),
                ("PUT", "/vm/disks", "{\"path\":\"/nonexistent/disk.img\"}"),
                ("PUT", "/vm/actions", "{\"action\":\"start\"}"),
                ("DELETE", "/vm", null),
            };
            foreach (var (method, target, body) in exchanges)
            {
                var (status, responseBody) = await ExchangeAsync(folder.SocketPath, method, target, body);
                var path = target.Split('?')[0];
                var responses = Document["paths"]![path]![method.ToLowerInvariant()]!["responses"]!.AsObject();
                Assert.True(responses.ContainsKey(status.ToString()), $"{method} {target} answered {status}, which the document does not list");
                if (responses[status.ToString()]!["content"]?["application/json"]?["schema"] is { } schema)
                {
                    AssertConforms(schema, JsonNode.Parse(responseBody)!, $"{method} {target} {status}");
                }
            }
        }
    }

    /// <summary>Every required property present, recursively through $refs, objects and arrays; enums hold.</summary>
    private static void AssertConforms(JsonNode schema, JsonNode? value, string where)
    {
        if (schema["$ref"] is { } reference)
        {
            schema = Document["components"]!["schemas"]![reference.GetValue<string>().Split('/')[^1]]!;
        }

        switch (schema["type"]?.GetValue<string>())
        {
            case "object":
                var obj = Assert.IsType<JsonObject>(value);
                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    Assert.True(obj.ContainsKey(required!.GetValue<string>()), $"{where}: no '{required}' in {obj.ToJsonString()[..Math.Min(200, obj.ToJsonString().Length)]}");
                }

                foreach (var (name, property) in schema["properties"]?.AsObject() ?? [])
                {
                    if (obj[name] is { } child)
                    {
                        AssertConforms(property!, child, $"{where}.{name}");
                    }
                }

                break;
            case "array":
                foreach (var item in Assert.IsType<JsonArray>(value))
                {
                    AssertConforms(schema["items"]!, item, $"{where}[]");
                }

                break;
            case "string" when schema["enum"] is JsonArray values:
                Assert.Contains(value!.GetValue<string>(), values.Select(v => v!.GetValue<string>()));
                break;
        }
    }

    private static Task<(int Status, string Body)> ExchangeAsync(string socketPath, string method, string target, string? body)
    {
        var head = $"{method} {target} HTTP/1.1\r\nHost: localhost\r\n"
            + (body is null ? "" : $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n") + "\r\n";
        return HostProcessTests.RawExchangeAsync(socketPath, Encoding.UTF8.GetBytes(head + body));
    }
}
