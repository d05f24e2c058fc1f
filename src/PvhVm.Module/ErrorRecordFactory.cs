using System.Management.Automation;

namespace PvhVm.Module;

/// <summary>Builds ErrorRecords whose FullyQualifiedErrorId is '&lt;errorId&gt;,&lt;cmdlet type&gt;', as PowerShell does for binary cmdlets.</summary>
internal static class ErrorRecordFactory
{
    public static ErrorRecord Create(Exception exception, string errorId, ErrorCategory category, object? target, string? recommendedAction = null)
    {
        var record = new ErrorRecord(exception, errorId, category, target);
        if (recommendedAction is not null)
        {
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = recommendedAction };
        }

        return record;
    }

    public static ErrorRecord Create(string message, string errorId, ErrorCategory category, object? target, string? recommendedAction = null)
        => Create(new InvalidOperationException(message), errorId, category, target, recommendedAction);
}
