namespace PvhVm.Core.Machine;

/// <summary>What a vCPU thread reports to the machine that owns it.</summary>
internal interface IVcpuHost
{
    /// <summary>Ends the VM with a reason (the first reason wins). Returns false: the calling vCPU stops too.</summary>
    bool EndVm(VmExitReason reason, VmFault? fault);

    /// <summary>A halt check found a vCPU parked; the machine looks at whether all are.</summary>
    void VcpuParked();

    void VcpuFinished(VcpuRunner runner);
}
