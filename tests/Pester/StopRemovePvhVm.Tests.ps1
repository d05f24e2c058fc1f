BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $spin = Get-TestGuestPath spin
}

Describe 'Stop-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'stops a running VM and passes it through' {
        $vm = New-PvhVm -Name 'stop-me' -KernelPath $spin | Start-PvhVm -PassThru
        $vm.State | Should -Be 'Running'
        $stopped = $vm | Stop-PvhVm -PassThru
        $stopped.Name | Should -Be 'stop-me'
        $stopped.State | Should -Be 'Stopped'
        $stopped.ExitReason | Should -Be 'Stopped'
    }

    It 'stops by wildcard name' {
        $null = 1..2 | ForEach-Object { New-PvhVm -Name "stopwc-$_" -KernelPath $spin } | Start-PvhVm
        Stop-PvhVm -Name 'stopwc-*'
        (Get-PvhVm 'stopwc-*').State | Should -Be 'Stopped', 'Stopped'
    }

    It 'stops VMs named by piped strings' {
        $null = 'stopstr-a', 'stopstr-b', 'stopstr-c' | ForEach-Object { New-PvhVm -Name $_ -KernelPath $spin } | Start-PvhVm
        ('stopstr-a', 'stopstr-b' | Stop-PvhVm -PassThru).Name | Should -Be 'stopstr-a', 'stopstr-b'
        (Get-PvhVm 'stopstr-*').State | Should -Be 'Stopped', 'Stopped', 'Running'
    }

    It 'leaves the VM running with -WhatIf' {
        $vm = New-PvhVm -Name 'stop-whatif' -KernelPath $spin | Start-PvhVm -PassThru
        $vm | Stop-PvhVm -WhatIf
        $vm.State | Should -Be 'Running'
    }

    It 'stops with -Force, which does not ask' {
        $vm = New-PvhVm -Name 'stop-force' -KernelPath $spin | Start-PvhVm -PassThru
        Stop-PvhVm -Name 'stop-force' -Force
        $vm.State | Should -Be 'Stopped'
    }

    It 'leaves a VM that has already exited as it is, without error' {
        $vm = New-PvhVm -Name 'stop-exited' | Start-PvhVm -Wait -Timeout 30 -PassThru
        $vm | Stop-PvhVm -PassThru -ErrorVariable err | Should -Not -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
        $vm.ExitReason | Should -Be 'GuestReset'
    }

    It 'reports a VM that never started as InvalidVmState' {
        $vm = New-PvhVm -Name 'stop-created'
        $vm | Stop-PvhVm -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidVmState,*'
        $err[0].TargetObject.Id | Should -Be $vm.Id
    }
}

Describe 'Remove-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'removes a VM that is not running' {
        $null = New-PvhVm -Name 'rm-created'
        Remove-PvhVm -Name 'rm-created' -Confirm:$false
        Get-PvhVm -Name 'rm-created' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'removes VMs named by piped strings, and a piped VM object still binds as the VM it is' {
        $null = 'rmstr-a', 'rmstr-b' | ForEach-Object { New-PvhVm -Name $_ }
        'rmstr-a', 'rmstr-b' | Remove-PvhVm -Confirm:$false
        Get-PvhVm 'rmstr-*' | Should -BeNullOrEmpty
        $old = New-PvhVm -Name 'rmstr-a'
        $old | Remove-PvhVm -Confirm:$false
        $null = New-PvhVm -Name 'rmstr-a'
        $old | Remove-PvhVm -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VmNotFound,*'
        Get-PvhVm 'rmstr-a' | Should -Not -BeNullOrEmpty
    }

    It 'refuses to remove a running VM without -Force (VmRunning)' {
        $vm = New-PvhVm -Name 'rm-running' -KernelPath $spin | Start-PvhVm -PassThru
        $vm | Remove-PvhVm -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VmRunning,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $vm.State | Should -Be 'Running'
        Get-PvhVm -Name 'rm-running' | Should -Not -BeNullOrEmpty
    }

    It 'stops and removes a running VM with -Force, which does not ask' {
        $vm = New-PvhVm -Name 'rm-force' -KernelPath $spin | Start-PvhVm -PassThru
        $vm | Remove-PvhVm -Force
        $vm.State | Should -Be 'Stopped'
        Get-PvhVm -Name 'rm-force' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'keeps the VM with -WhatIf, even with -Force' {
        $null = New-PvhVm -Name 'rm-whatif'
        Remove-PvhVm -Name 'rm-whatif' -Force -WhatIf
        Get-PvhVm -Name 'rm-whatif' | Should -Not -BeNullOrEmpty
    }

    It 'frees the name for a new VM, and a removed VM object is VmNotFound' {
        $old = New-PvhVm -Name 'rm-reuse'
        $old | Remove-PvhVm -Confirm:$false
        $new = New-PvhVm -Name 'rm-reuse'
        $new.Id | Should -Not -Be $old.Id
        $old | Start-PvhVm -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VmNotFound,*'
        $new.State | Should -Be 'Created'
    }
}

# In-process VMs live and end with the module and the process; host-process VMs outlive both (HostProcess.Tests.ps1).
Describe 'Module lifetime (in-process VMs)' {
    AfterEach { Clear-PvhVm }

    It 'stops every VM when the module is removed' {
        $vm = New-PvhVm -Name 'lifetime' -KernelPath $spin -InProcess | Start-PvhVm -PassThru
        Remove-Module PvhVm
        try {
            $vm.State | Should -Be 'Stopped'
        }
        finally { Import-BuiltPvhVm }
        Get-PvhVm | Should -BeNullOrEmpty
    }

    It 'keeps VMs when a runspace that imported the module closes' {
        $vm = New-PvhVm -Name 'outlives-runspace' -KernelPath $spin -InProcess | Start-PvhVm -PassThru
        $run = Start-BackgroundPipeline 'Get-PvhVm outlives-runspace'
        $run.PowerShell.EndInvoke($run.Handle)
        $run.PowerShell.Dispose()
        $vm.State | Should -Be 'Running'
    }

    It 'lets pwsh exit promptly while a VM is running' {
        $script = "Import-Module '$(Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1')'; New-PvhVm -Name exiting -KernelPath '$spin' -InProcess | Start-PvhVm -PassThru | ForEach-Object State"
        $child = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $script -PassThru -RedirectStandardOutput (Join-Path $TestDrive 'exit.txt')
        $child.WaitForExit(60000) | Should -BeTrue
        $child.ExitCode | Should -Be 0
        Get-Content (Join-Path $TestDrive 'exit.txt') | Should -Be 'Running'
    }
}
