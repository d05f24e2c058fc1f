namespace PvhVm.Core.Checkpoints;

/// <summary>A pause, checkpoint or restore failed for the reason <see cref="Kind"/> names; <see cref="Path"/> is the checkpoint folder when one is involved.</summary>
public sealed class CheckpointException(CheckpointErrorKind kind, string? path, string message, Exception? inner = null)
    : Exception(path is null ? message : $"{path}: {message}", inner)
{
    public CheckpointErrorKind Kind { get; } = kind;

    public string? Path { get; } = path;
}
