BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $spin = Get-TestGuestPath spin
}

Describe 'Start-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'boots the built-in probe, which prints its start_info and resets' {
        $vm = New-PvhVm -Name 'start-probe' -CommandLine 'hello=world' | Start-PvhVm -Wait -Timeout 30 -PassThru
        $vm.State | Should -Be 'Stopped'
        $vm.ExitReason | Should -Be 'GuestReset'
        $vm.Fault | Should -BeNullOrEmpty
        $vm.StartTime | Should -Not -BeNullOrEmpty
        $vm.Uptime | Should -BeGreaterThan ([timespan]::Zero)
        $vm.ConsoleLineCount | Should -BeGreaterThan 3
        $text = ($vm | Get-PvhConsole).Text
        $text[0] | Should -Match '^PVH probe: start_info at 0x[0-9a-f]{8}$'
        $text | Should -Contain 'cmdline=hello=world'
        $text[-1] | Should -Be 'probe done'
    }

    It 'runs the pipeline New-PvhVm | Start-PvhVm -Wait -PassThru | Get-PvhConsole' {
        $lines = New-PvhVm -Name 'start-pipe' | Start-PvhVm -Wait -PassThru | Get-PvhConsole
        $lines[0].PSTypeNames | Should -Contain 'PvhVm.ConsoleLine'
        $lines.VmName | Select-Object -Unique | Should -Be 'start-pipe'
        $lines.Text | Should -Contain 'probe done'
        $lines[0].Sequence | Should -Be 0
        $lines[-1].Sequence | Should -Be ($lines.Count - 1)
    }

    It 'starts by name with wildcards and leaves the other VMs alone' {
        $null = 'wc-a', 'wc-b', 'other' | ForEach-Object { New-PvhVm -Name $_ }
        Start-PvhVm -Name 'WC-*' -Wait -Timeout 30
        (Get-PvhVm 'wc-a', 'wc-b').State | Should -Be 'Stopped', 'Stopped'
        (Get-PvhVm 'other').State | Should -Be 'Created'
    }

    It 'binds -Name from any object with a Name property' {
        $null = New-PvhVm -Name 'byprop'
        [pscustomobject]@{ Name = 'byprop' } | Start-PvhVm -Wait -Timeout 30
        (Get-PvhVm 'byprop').ExitReason | Should -Be 'GuestReset'
    }

    It 'starts VMs named by piped strings' {
        $null = 'str-a', 'str-b' | ForEach-Object { New-PvhVm -Name $_ }
        $vms = 'str-a', 'str-b' | Start-PvhVm -Wait -Timeout 30 -PassThru
        $vms.Name | Should -Be 'str-a', 'str-b'
        $vms.ExitReason | Should -Be 'GuestReset', 'GuestReset'
    }

    It 'returns at once without -Wait, leaving the VM running' {
        New-PvhVm -Name 'nowait' -KernelPath $spin | Start-PvhVm | Should -BeNullOrEmpty
        (Get-PvhVm 'nowait').State | Should -Be 'Running'
    }

    It 'starts many VMs from one pipeline concurrently and reports progress' {
        $null = 1..3 | ForEach-Object { New-PvhVm -Name "many-$_" }
        $run = Start-BackgroundPipeline 'Get-PvhVm many-* | Start-PvhVm -Wait -Timeout 30 -PassThru'
        $run.PowerShell.EndInvoke($run.Handle)
        (Get-BackgroundOutput $run).Name | Should -Be 'many-1', 'many-2', 'many-3'
        (Get-BackgroundOutput $run).ExitReason | Should -Be 'GuestReset', 'GuestReset', 'GuestReset'
        $progress = $run.PowerShell.Streams.Progress
        $progress.Activity | Should -Contain 'Starting PvhVm VMs'
        $progress[-1].RecordType | Should -Be 'Completed'
        $run.PowerShell.Dispose()
    }

    It 'starts nothing with -WhatIf' {
        $null = New-PvhVm -Name 'start-whatif'
        Start-PvhVm -Name 'start-whatif' -WhatIf
        (Get-PvhVm 'start-whatif').State | Should -Be 'Created'
    }

    It 'reports a running VM as InvalidVmState' {
        $vm = New-PvhVm -Name 'twice' -KernelPath $spin | Start-PvhVm -PassThru
        $vm | Start-PvhVm -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidVmState,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err[0].TargetObject.Name | Should -Be 'twice'
    }

    It 'reports -Wait running past -Timeout as WaitTimeout and leaves the VM running' {
        New-PvhVm -Name 'slow' -KernelPath $spin | Start-PvhVm -Wait -Timeout 1 -PassThru -ErrorVariable err -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimeout,*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        (Get-PvhVm 'slow').State | Should -Be 'Running'
    }

    It 'reports an unknown name as VmNotFound' {
        Start-PvhVm -Name 'nosuchvm' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VmNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'nosuchvm'
    }

    It 'reports a boot the engine refuses at start as BootFailed plus its kind, with LimitsExceeded, and starts the others' {
        $initrd = Join-Path $TestDrive 'big.img'
        [IO.File]::WriteAllBytes($initrd, [byte[]]::new(8MB))
        $null = New-PvhVm -Name 'initrd-too-big' -MemoryMB 4 -InitrdPath $initrd
        $null = New-PvhVm -Name 'boots-fine'
        Start-PvhVm -Name 'initrd-too-big', 'boots-fine' -Wait -Timeout 30 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'BootFailedInitrdTooLarge,PvhVm.Module.Commands.StartPvhVmCommand'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err[0].TargetObject.Name | Should -Be 'initrd-too-big'
        (Get-PvhVm 'initrd-too-big').State | Should -Be 'Failed'
        (Get-PvhVm 'boots-fine').ExitReason | Should -Be 'GuestReset'
    }
}

# An in-process VM's engine logs into this session; a host process's engine logs stay in the host.
Describe 'Start-PvhVm with an in-process engine' {
    AfterEach { Clear-PvhVm }

    It 'writes engine log messages to the debug stream on the pipeline thread' {
        $debug = New-PvhVm -Name 'chatty' -InProcess | Start-PvhVm -Wait -Timeout 30 -Debug 5>&1
        $messages = $debug | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object Message
        $messages | Should -Contain '[chatty] VM chatty ends: GuestReset'
        $messages | Where-Object { $_ -match '^\[chatty\] VM chatty: starting 1 vCPU\(s\) at entry 0x' } | Should -HaveCount 1
    }
}
