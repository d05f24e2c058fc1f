BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    Clear-PvhVm
    $vm = New-PvhVm -Name 'fmt' | Start-PvhVm -Wait -Timeout 30 -PassThru
}

AfterAll { Clear-PvhVm }

Describe 'Default views (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    It 'shows VMs as a table: Name, State, CPUs, Memory, Uptime, ExitReason' {
        $text = Get-PvhVm | Out-String
        $text | Should -Match 'Name\s+State\s+CPUs\s+Memory\s+Uptime\s+ExitReason'
        $text | Should -Match 'fmt\s+Stopped\s+1\s+256 MB\s+\d\d:\d\d:\d\d\.\d{3}\s+GuestReset'
    }

    It 'shows console lines with VM, elapsed time and text' {
        $text = Get-PvhConsole fmt | Out-String
        $text | Should -Match 'VmName\s+Elapsed\s+Text'
        $text | Should -Match 'fmt\s+\d+\.\d{3}s\s+probe done'
    }

    It 'shows the memory map grouped by VM with hexadecimal addresses' {
        $text = Get-PvhMemoryMap fmt | Out-String
        $text | Should -Match 'VM: fmt'
        $text | Should -Match 'Start\s+End\s+Size\s+Type\s+Usage\s+Description'
        $text | Should -Match '0x[0-9a-f]{9}\s+0x[0-9a-f]{9}\s+[\d.]+ (B|KiB|MiB|GiB)\s+Ram\s+KernelSegment'
    }

    It 'shows the host as a list' {
        $text = Test-PvhHost | Out-String
        $text | Should -Match 'DevicePath\s+: /dev/kvm'
        $text | Should -Match 'IsUsable\s+: True'
        $text | Should -Match 'ApiVersion\s+: 12'
    }

    It 'shows a VM fault as a list with RIP and instruction bytes in hex' {
        $fault = [PvhVm.Core.Machine.VmFault]::new(0, 'KVM_EXIT_INTERNAL_ERROR', 1, [uint64]::Parse('ffffffff81001234', 'HexNumber'), [byte[]](0xf0, 0x48, 0x0f, 0xc7), 'emulation failure')
        $text = $fault | Out-String
        $text | Should -Match 'Message\s+: emulation failure'
        $text | Should -Match 'Rip\s+: 0xffffffff81001234'
        $text | Should -Match 'Instruction\s+: f0 48 0f c7'
    }
}

Describe 'List views (Format-List and Format-List *) (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    It 'shows a VM under Format-List * without type names or record dumps, nested addresses in hex' {
        $all = $vm | Format-List * | Out-String -Width 400
        $all | Should -Not -Match 'System\.|PvhVm\.Core\.'
        $all | Should -Not -Match '\w+ \{ \w+ = '
        $all | Should -Match 'Config\s+: fmt: 256 MB, 1 vCPU\(s\), kernel .*probe\.elf'
        $all | Should -Match 'BootInfo\s+: probe\.elf \(Elf64, None, PVH entry 0x00100000\)'
        $all | Should -Match 'ConsoleLineCount\s+: \d+'
        $all | Should -Match 'DroppedConsoleLines\s+: 0'
        $all | Should -Match 'MemoryMap\s+: \{0x000000000-0x000000500 Ram FreeRam, '
        $all | Should -Match 'E820Map\s+: \{0x000000000-0x00009fc00 Ram, 0x00009fc00-0x0000e0000 Reserved, '
    }

    It 'shows a VM''s list view with the properties a user reads, the PVH entry in hex' {
        $list = $vm | Format-List | Out-String -Width 400
        $list | Should -Match 'State\s+: Stopped'
        $list | Should -Match 'Memory\s+: 256 MB'
        $list | Should -Match 'PvhEntry\s+: 0x00100000'
        $list | Should -Not -Match 'MemoryMap|E820Map|Config'
    }

    It 'shows memory regions as lists with hex addresses' {
        $list = Get-PvhMemoryMap fmt | Where-Object Usage -EQ StartInfo | Format-List | Out-String
        $list | Should -Match 'Start\s+: 0x000006000'
        $list | Should -Match 'End\s+: 0x000006038'
        $list | Should -Match 'Size\s+: 0x38'
    }

    It 'shows every other object the module emits under Format-List * without type names' {
        $objects = @(Get-PvhConsole fmt) + @(Get-PvhMemoryMap fmt) + @(Test-PvhHost) + @(Get-PvhBootInfo $vm.KernelPath)
        $objects | Format-List * | Out-String -Width 400 | Should -Not -Match 'System\.|PvhVm\.Core\.'
    }
}

Describe 'Serialization (Start-Job runs in another process) (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        $module = Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1'
        Clear-PvhVm
        $inProcess = $Hosting -eq 'InProcess'
        $result = Start-Job -ScriptBlock {
            Import-Module $using:module
            $PSDefaultParameterValues['New-PvhVm:InProcess'] = $using:inProcess
            $vm = New-PvhVm -Name 'job' -CommandLine 'from=job' -MemoryMB 64 | Start-PvhVm -Wait -Timeout 30 -PassThru
            [pscustomobject]@{
                Vm      = $vm
                Lines   = @($vm | Get-PvhConsole)
                Regions = @($vm | Get-PvhMemoryMap)
                HostInfo = Test-PvhHost
            }
        } | Receive-Job -Wait -AutoRemoveJob -ErrorAction Stop
    }

    It 'keeps the VM''s useful properties as simple values' {
        $vm = $result.Vm
        $vm.PSTypeNames[0] | Should -Be 'Deserialized.PvhVm.Vm'
        $vm.Name | Should -Be 'job'
        $vm.Id | Should -BeOfType ([guid])
        $vm.State | Should -BeExactly 'Stopped'
        $vm.ExitReason | Should -BeExactly 'GuestReset'
        $vm.MemoryMB | Should -Be 64
        $vm.ProcessorCount | Should -Be 1
        $vm.CommandLine | Should -Be 'from=job'
        $vm.KernelPath | Should -BeLike '*guests/probe.elf'
        # DateTimeOffset is no CLIXML primitive: it comes back as a property bag that keeps the instant.
        $vm.StartTime.UtcDateTime | Should -BeOfType ([DateTime])
        $vm.StartTime.UtcDateTime | Should -BeLessOrEqual ([DateTime]::UtcNow)
        $vm.Uptime | Should -BeOfType ([TimeSpan])
        $vm.ConsoleLineCount | Should -BeGreaterThan 3
        $vm.BootInfo.IsPvhBootable | Should -BeTrue
    }

    It 'renders the deserialized VM with the VM table view' {
        $result.Vm | Out-String | Should -Match 'job\s+Stopped\s+1\s+64 MB\s+\d\d:\d\d:\d\d\.\d{3}\s+GuestReset'
    }

    It 'keeps console lines and renders them' {
        $result.Lines[0].PSTypeNames[0] | Should -Be 'Deserialized.PvhVm.ConsoleLine'
        $result.Lines.Text | Should -Contain 'cmdline=from=job'
        $result.Lines[-1].Elapsed | Should -BeOfType ([TimeSpan])
        $result.Lines | Out-String | Should -Match 'job\s+\d+\.\d{3}s\s+probe done'
    }

    It 'keeps memory regions and renders them in hex' {
        $result.Regions[0].PSTypeNames[0] | Should -Be 'Deserialized.PvhVm.MemoryRegion'
        $result.Regions[0].Start | Should -BeOfType ([uint64])
        $result.Regions.Usage | Should -Contain 'KernelSegment'
        $result.Regions.Type | Should -Contain 'Ram'
        $result.Regions | Out-String | Should -Match '0x[0-9a-f]{9}\s+0x[0-9a-f]{9}'
    }

    It 'keeps host information with its capabilities and renders it' {
        $result.HostInfo.IsUsable | Should -BeTrue
        $result.HostInfo.Capabilities.Count | Should -BeGreaterThan 0
        $result.HostInfo | Out-String | Should -Match 'IsUsable\s+: True'
    }

    It 'lets a deserialized VM name the live VM it came from, by property name' {
        # The job's own VM went with the job's process, or (host-process) is still there, stopped: a fresh one either way.
        Remove-PvhVm -Name 'job' -Force -ErrorAction SilentlyContinue
        $null = New-PvhVm -Name 'job'
        $result.Vm | Start-PvhVm -Wait -Timeout 30
        (Get-PvhVm 'job').ExitReason | Should -Be 'GuestReset'
    }
}
