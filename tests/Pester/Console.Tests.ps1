BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $echo = Get-TestGuestPath echo
}

Describe 'Get-PvhConsole (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        Clear-PvhVm
        $null = 'con-a', 'con-b' | ForEach-Object { New-PvhVm -Name $_ -CommandLine "name=$_" } | Start-PvhVm -Wait -Timeout 30
    }
    AfterAll { Clear-PvhVm }

    It 'returns PvhVm.ConsoleLine objects with VmName, Timestamp, Elapsed, Text and Sequence' {
        $lines = Get-PvhConsole -Name 'con-a'
        $lines[0].PSTypeNames[0] | Should -Be 'PvhVm.ConsoleLine'
        $lines[0].VmName | Should -Be 'con-a'
        $lines[0].Text | Should -Match '^PVH probe: start_info at 0x'
        $lines[0].Timestamp | Should -BeOfType ([DateTimeOffset])
        $lines[0].Elapsed | Should -BeOfType ([TimeSpan])
        $lines.Sequence | Should -Be (0..($lines.Count - 1))
        $lines.Count | Should -Be (Get-PvhVm 'con-a').ConsoleLineCount
    }

    It 'returns the last lines with -Tail' {
        (Get-PvhConsole -Name 'con-a' -Tail 1).Text | Should -Be 'probe done'
        (Get-PvhConsole -Name 'con-a' -Tail 0) | Should -BeNullOrEmpty
    }

    It 'filters with -Pattern (case-insensitive regex), then applies -Tail' {
        $memmap = Get-PvhConsole -Name 'con-a' -Pattern '^MEMMAP\['
        $memmap | Should -Not -BeNullOrEmpty
        $memmap.Text | Should -Match '^memmap\[\d+\] addr=0x[0-9a-f]{16} size=0x[0-9a-f]{16} type=\d$'
        (Get-PvhConsole -Name 'con-a' -Pattern '^memmap\[' -Tail 1).Text | Should -Be $memmap[-1].Text
    }

    It 'tags lines by VM when reading several VMs' {
        $lines = Get-PvhVm 'con-*' | Get-PvhConsole -Pattern '^cmdline='
        $lines | ForEach-Object { "$($_.VmName):$($_.Text)" } | Should -Be 'con-a:cmdline=name=con-a', 'con-b:cmdline=name=con-b'
    }

    It 'follows live output with -Wait until the VM exits' {
        $vm = New-PvhVm -Name 'con-follow' -KernelPath $echo | Start-PvhVm -PassThru
        $run = Start-BackgroundPipeline 'Get-PvhConsole -Name con-follow -Wait'
        $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        Send-PvhConsole -Name 'con-follow' -Text 'first' -Line
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-BackgroundOutput $run).Text -notcontains 'first' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        (Get-BackgroundOutput $run).Text | Should -Contain 'first'
        $run.Handle.IsCompleted | Should -BeFalse
        Send-PvhConsole -Name 'con-follow' -Text 'exit' -Line
        $run.Handle.AsyncWaitHandle.WaitOne(30000) | Should -BeTrue
        (Get-BackgroundOutput $run).Text | Should -Be 'echo ready', 'first', 'exit', 'echo bye'
        $run.PowerShell.Dispose()
    }

    It 'stops following on Ctrl+C, promptly' {
        $vm = New-PvhVm -Name 'con-ctrlc' -KernelPath $echo | Start-PvhVm -PassThru
        $run = Start-BackgroundPipeline 'Get-PvhConsole -Name con-ctrlc -Wait'
        $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        # Following has begun once the line already printed has come through.
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not (Get-BackgroundOutput $run) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        Stop-BackgroundPipeline $run
        (Get-BackgroundOutput $run).Text | Should -Be 'echo ready'
        $run.PowerShell.Dispose()
        $vm.State | Should -Be 'Running'
    }

    It 'rejects an invalid -Pattern' {
        { Get-PvhConsole -Name 'con-a' -Pattern '(' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidConsolePattern,PvhVm.Module.Commands.GetPvhConsoleCommand'
    }
}

Describe 'Send-PvhConsole (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'types text into the guest, -Line appending a newline' {
        $vm = New-PvhVm -Name 'send' -KernelPath $echo | Start-PvhVm -PassThru
        $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        Send-PvhConsole -Name 'send' -Text 'hel'
        $vm | Send-PvhConsole -Text 'lo' -Line
        $vm | Wait-PvhVm -ConsolePattern '^hello$' -Timeout 30 -PassThru | Should -Not -BeNullOrEmpty
        $vm | Send-PvhConsole -Text 'exit' -Line
        $vm | Wait-PvhVm -Timeout 30
        $vm.ExitReason | Should -Be 'GuestReset'
        ($vm | Get-PvhConsole).Text | Should -Be 'echo ready', 'hello', 'exit', 'echo bye'
    }

    It 'takes the name and then the text positionally; with piped VMs or -VM the text is second too' {
        $vm = New-PvhVm -Name 'send-pos' -KernelPath $echo | Start-PvhVm -PassThru
        $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        Send-PvhConsole send-pos 'one' -Line
        Get-PvhVm send-pos | Send-PvhConsole -Text 'two' -Line
        Send-PvhConsole -VM $vm 'three' -Line
        Send-PvhConsole send-pos exit -Line
        $vm | Wait-PvhVm -Timeout 30
        ($vm | Get-PvhConsole).Text | Should -Be 'echo ready', 'one', 'two', 'three', 'exit', 'echo bye'
    }

    It 'documents -Text at the position it binds at in every parameter set' {
        $positions = (Get-Command Send-PvhConsole).Parameters['Text'].ParameterSets.Values.Position | Select-Object -Unique
        $positions | Should -Be 1
        (Get-Help Send-PvhConsole -Parameter Text).position | Should -Be '1'
    }

    It 'sends nothing with -WhatIf' {
        $vm = New-PvhVm -Name 'send-whatif' -KernelPath $echo | Start-PvhVm -PassThru
        $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $vm | Send-PvhConsole -Text 'exit' -Line -WhatIf
        $vm | Wait-PvhVm -Timeout 1 -ErrorAction SilentlyContinue
        $vm.State | Should -Be 'Running'
    }

    It 'reports a VM that is not running as InvalidVmState' {
        $vm = New-PvhVm -Name 'send-created'
        $vm | Send-PvhConsole -Text 'x' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidVmState,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }
}
