BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $spin = Get-TestGuestPath spin
}

Describe 'Wait-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'waits until the VM exits' {
        $vm = New-PvhVm -Name 'wait-exit' | Start-PvhVm -PassThru
        $vm | Wait-PvhVm -Timeout 30 -PassThru | Should -Be $vm
        $vm.State | Should -Be 'Stopped'
        $vm.ExitReason | Should -Be 'GuestReset'
    }

    It 'waits for a console pattern, also on lines printed before the call' {
        $vm = New-PvhVm -Name 'wait-pattern' -KernelPath $spin | Start-PvhVm -PassThru
        Wait-PvhVm -Name 'wait-pattern' -ConsolePattern '^SPIN' -Timeout 30 -PassThru | Should -Be $vm
        Wait-PvhVm -Name 'wait-pattern' -ConsolePattern 'spinning' -Timeout 30 -ErrorVariable err
        $err | Should -BeNullOrEmpty
        $vm.State | Should -Be 'Running'
    }

    It 'waits for several VMs concurrently, by wildcard' {
        $null = 1..3 | ForEach-Object { New-PvhVm -Name "wait-many-$_" } | Start-PvhVm
        (Wait-PvhVm -Name 'wait-many-*' -ConsolePattern 'probe done' -Timeout 30 -PassThru).Name |
            Should -Be 'wait-many-1', 'wait-many-2', 'wait-many-3'
    }

    It 'reports a timeout per VM as WaitTimeout, non-terminating, and goes on with the others' {
        # The probe has already exited, so only the spinning VM can run into the short timeout, however loaded the host.
        $fast = New-PvhVm -Name 'wait-fast' | Start-PvhVm -Wait -Timeout 30 -PassThru
        $slow = New-PvhVm -Name 'wait-slow' -KernelPath $spin | Start-PvhVm -PassThru
        $passed = $slow, $fast | Wait-PvhVm -Timeout 2 -PassThru -ErrorVariable err -ErrorAction SilentlyContinue
        $passed.Name | Should -Be 'wait-fast'
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'WaitTimeout,PvhVm.Module.Commands.WaitPvhVmCommand'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $err[0].TargetObject.Name | Should -Be 'wait-slow'
        $slow.State | Should -Be 'Running'
    }

    It 'reports a VM that exits without printing the pattern as ConsolePatternNotFound' {
        $vm = New-PvhVm -Name 'wait-never' | Start-PvhVm -PassThru
        $vm | Wait-PvhVm -ConsolePattern 'this line never comes' -Timeout 30 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConsolePatternNotFound,*'
        $vm.State | Should -Be 'Stopped'
    }

    It 'does not wait on a VM whose boot failed, nor on one never started' {
        $initrd = Join-Path $TestDrive 'big.img'
        [IO.File]::WriteAllBytes($initrd, [byte[]]::new(8MB))
        $failed = New-PvhVm -Name 'wait-bootfail' -MemoryMB 4 -InitrdPath $initrd
        $failed | Start-PvhVm -ErrorAction SilentlyContinue
        $failed.State | Should -Be 'Failed'
        $failed.ExitReason | Should -Be 'BootFailed'
        $failed.Fault.Message | Should -Not -BeNullOrEmpty
        $null = New-PvhVm -Name 'wait-created'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Wait-PvhVm -Name 'wait-bootfail', 'wait-created' -ConsolePattern 'never' -ErrorVariable err -ErrorAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        $err.FullyQualifiedErrorId | Sort-Object | Should -Be 'ConsolePatternNotFound,PvhVm.Module.Commands.WaitPvhVmCommand', 'InvalidVmState,PvhVm.Module.Commands.WaitPvhVmCommand'
        Get-PvhConsole -Name 'wait-bootfail' -Wait | Should -BeNullOrEmpty
    }

    It 'takes a -Timeout too long for a wait handle as waiting as long as it takes' {
        $vm = New-PvhVm -Name 'wait-long' | Start-PvhVm -PassThru
        $vm | Wait-PvhVm -Timeout ([int]::MaxValue) -PassThru | Should -Be $vm
        $vm | Wait-PvhVm -ConsolePattern 'probe done' -Timeout 3000000 -PassThru | Should -Be $vm
    }

    It 'rejects an invalid regular expression' {
        $null = New-PvhVm -Name 'wait-badregex'
        { Wait-PvhVm -Name 'wait-badregex' -ConsolePattern '([' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConsolePattern,PvhVm.Module.Commands.WaitPvhVmCommand'
    }

    It 'ends promptly on Ctrl+C (StopProcessing) and leaves the VM running' {
        $vm = New-PvhVm -Name 'wait-ctrlc' -KernelPath $spin | Start-PvhVm -PassThru
        $run = Start-BackgroundPipeline 'Wait-PvhVm -Name wait-ctrlc'
        Start-Sleep -Milliseconds 500
        $run.Handle.IsCompleted | Should -BeFalse
        Stop-BackgroundPipeline $run
        $run.PowerShell.Dispose()
        $vm.State | Should -Be 'Running'
    }

    It 'ends a -ConsolePattern wait promptly on Ctrl+C too' {
        $null = New-PvhVm -Name 'wait-ctrlc-pattern' -KernelPath $spin | Start-PvhVm
        $run = Start-BackgroundPipeline "Wait-PvhVm -Name wait-ctrlc-pattern -ConsolePattern 'never'"
        Start-Sleep -Milliseconds 500
        Stop-BackgroundPipeline $run
        $run.PowerShell.Dispose()
        (Get-PvhVm 'wait-ctrlc-pattern').State | Should -Be 'Running'
    }
}
