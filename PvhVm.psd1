@{
    RootModule           = 'PvhVm.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '6f0c2d4e-8a3b-4b8e-9a51-2f7d3c1e5b90'
    Author               = 'PvhVm developers'
    CompanyName          = 'PvhVm'
    Copyright            = '(c) PvhVm developers. MIT License.'
    Description          = 'Boots Linux kernels directly on KVM through the PVH entry point - no firmware, no bootloader - and returns VMs, memory maps, console output and kernel ELF notes as pipeline objects.'
    PowerShellVersion    = '7.4'
    CmdletsToExport      = @(
        'Add-PvhVmDisk'
        'Add-PvhVmNetworkAdapter'
        'Checkpoint-PvhVm'
        'Connect-PvhVsock'
        'Get-PvhBootInfo'
        'Get-PvhCheckpoint'
        'Get-PvhConsole'
        'Get-PvhMemoryMap'
        'Get-PvhVm'
        'Get-PvhVmDisk'
        'Get-PvhVmNetworkAdapter'
        'Invoke-PvhVsock'
        'New-PvhDisk'
        'New-PvhVm'
        'Remove-PvhVm'
        'Remove-PvhVmDisk'
        'Remove-PvhVmNetworkAdapter'
        'Restore-PvhVm'
        'Resume-PvhVm'
        'Send-PvhConsole'
        'Start-PvhVm'
        'Stop-PvhVm'
        'Suspend-PvhVm'
        'Test-PvhHost'
        'Wait-PvhVm'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    FormatsToProcess     = @(
        'Formats/PvhVm.Format.ps1xml'
        'Formats/PvhVm.Kernel.Format.ps1xml'
    )
    TypesToProcess       = @(
        'PvhVm.Types.ps1xml'
    )
    PrivateData          = @{
        PSData = @{
            Tags         = @('KVM', 'PVH', 'Linux', 'VirtualMachine', 'Hypervisor', 'Kernel', 'ELF', 'Virtualization')
            LicenseUri   = 'https://opensource.org/license/mit'
            ProjectUri   = 'https://github.com/pvhvm/PvhVm'
        }
    }
}
