using System.Text.Json;
using System.Text.Json.Serialization;

namespace PvhVm.Control;

/// <summary>The JSON of the API, generated at compile time: the host is NativeAOT, where reflection-based JSON is unavailable.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VmDescription))]
[JsonSerializable(typeof(VmAction))]
[JsonSerializable(typeof(CheckpointRequest))]
[JsonSerializable(typeof(CheckpointWritten))]
[JsonSerializable(typeof(RestoreRequest))]
[JsonSerializable(typeof(ConsolePage))]
[JsonSerializable(typeof(ConsoleInput))]
[JsonSerializable(typeof(ConsoleInputResult))]
[JsonSerializable(typeof(MemoryMapDocument))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(HostReadiness))]
[JsonSerializable(typeof(PvhVm.Core.Machine.VmConfig))]
[JsonSerializable(typeof(PvhVm.Core.Machine.VmDisk))]
[JsonSerializable(typeof(IReadOnlyList<PvhVm.Core.Machine.VmDisk>))]
[JsonSerializable(typeof(PvhVm.Core.Machine.DiskConfig))]
[JsonSerializable(typeof(PvhVm.Core.Machine.VmNetworkAdapter))]
[JsonSerializable(typeof(IReadOnlyList<PvhVm.Core.Machine.VmNetworkAdapter>))]
[JsonSerializable(typeof(PvhVm.Core.Machine.NetworkAdapterConfig))]
public sealed partial class ControlJson : JsonSerializerContext;
