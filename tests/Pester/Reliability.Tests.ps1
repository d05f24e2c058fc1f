BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

# Reliability of the cmdlets under interruption, concurrency, missing privileges and hostile inputs.
# The slow runs (tag Slow) go with build.ps1 -Task SlowTest.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $spin = Get-TestGuestPath spin
    $sleep = Get-TestGuestPath sleep
    $modulePath = $env:PVHVM_MODULE_PATH

    # pwsh for another user: this one lives under /root, which only root may enter.
    function Get-SharedPwsh {
        $copy = Join-Path ([IO.Path]::GetTempPath()) "pvhvm-pwsh-$($PSVersionTable.PSVersion)"
        if (-not (Test-Path (Join-Path $copy 'pwsh.dll'))) {
            $staging = "$copy.$PID"
            Copy-Item $PSHOME $staging -Recurse
            Move-Item $staging $copy -ErrorAction SilentlyContinue
        }
        Join-Path $copy 'pwsh.dll'
    }

    # Runs a script in pwsh as nobody/nogroup (no supplementary groups) and returns its output lines.
    function Invoke-AsUnprivileged([string] $Script) {
        $pwsh = Get-SharedPwsh
        $output = & setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp DOTNET_CLI_HOME=/tmp `
            dotnet $pwsh -NoProfile -NonInteractive -Command "Import-Module '$modulePath/PvhVm.psd1'; $Script" 2>&1
        $output | ForEach-Object { "$_" }
    }
}

Describe 'Interrupting the cmdlets (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'ends Start-PvhVm -Wait promptly on Ctrl+C, leaving the VM running' {
        $run = Start-BackgroundPipeline "New-PvhVm -Name ctrlc-start -KernelPath '$spin' -MemoryMB 16 | Start-PvhVm -Wait"
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-PvhVm -Name ctrlc-start -ErrorAction SilentlyContinue).State -ne 'Running' -and [DateTime]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 20
        }
        (Get-PvhVm ctrlc-start).State | Should -Be 'Running'
        Start-Sleep -Milliseconds 200
        $run.Handle.IsCompleted | Should -BeFalse
        Stop-BackgroundPipeline $run
        $run.PowerShell.Dispose()
        (Get-PvhVm ctrlc-start).State | Should -Be 'Running'
    }

    It 'ends Get-PvhConsole -Wait on a flooding guest promptly on Ctrl+C' {
        $null = New-PvhVm -Name ctrlc-flood -KernelPath (Get-TestGuestPath flood) -MemoryMB 16 | Start-PvhVm
        $run = Start-BackgroundPipeline 'Get-PvhConsole -Name ctrlc-flood -Wait | Out-Null'
        Start-Sleep -Milliseconds 500
        Stop-BackgroundPipeline $run
        $run.PowerShell.Dispose()
        (Get-PvhVm ctrlc-flood).State | Should -Be 'Running'
    }

}

Describe 'pwsh exiting with in-process VMs' {
    It 'lets pwsh exit promptly with hostile guests running on several vCPUs' {
        $guests = 'spin', 'flood', 'ioflood', 'mmioflood', 'sleep' | ForEach-Object { Get-TestGuestPath $_ }
        $starts = for ($i = 0; $i -lt $guests.Count; $i++) {
            "`$null = New-PvhVm -Name hostile$i -KernelPath '$($guests[$i])' -MemoryMB 16 -ProcessorCount 2 -InProcess | Start-PvhVm"
        }
        $script = "Import-Module '$modulePath/PvhVm.psd1'; $($starts -join '; '); Start-Sleep -Milliseconds 300; (Get-PvhVm | Where-Object State -eq Running).Count"
        $out = Join-Path $TestDrive 'hostile-exit.txt'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $child = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $script -PassThru -RedirectStandardOutput $out
        $child.WaitForExit(60000) | Should -BeTrue
        $child.ExitCode | Should -Be 0
        Get-Content $out | Should -Be '5'
        Write-Host "pwsh with 5 hostile VMs (10 vCPUs) started, ran and exited in $([int]$clock.Elapsed.TotalMilliseconds) ms"
    }
}

Describe 'Many runspaces at once (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'create, start, stop and remove VMs concurrently without losing or duplicating one' {
        $results = 1..24 | ForEach-Object -ThrottleLimit 8 -TimeoutSeconds 180 -Parallel {
            Import-Module (Join-Path $using:modulePath 'PvhVm.psd1')
            $PSDefaultParameterValues['New-PvhVm:InProcess'] = $using:Hosting -eq 'InProcess'
            $name = "churn-$_"
            $vm = New-PvhVm -Name $name -KernelPath $using:sleep -MemoryMB 16 | Start-PvhVm -PassThru
            Wait-PvhVm -Name $name -ConsolePattern '^sleeping$' -Timeout 60
            $null = Get-PvhVm    # readers race the writers
            Stop-PvhVm -Name $name
            if ($_ % 2 -eq 0) { Remove-PvhVm -Name $name -Confirm:$false }
            [pscustomobject]@{ Name = $name; State = "$($vm.State)" }
        }
        $results.Count | Should -Be 24
        $results.State | Sort-Object -Unique | Should -Be 'Stopped'
        $kept = Get-PvhVm -Name 'churn-*'
        ($kept.Name | Sort-Object { [int]($_ -replace 'churn-') }) | Should -Be (1..24 | Where-Object { $_ % 2 } | ForEach-Object { "churn-$_" })
        ($kept.Id | Sort-Object -Unique).Count | Should -Be 12
    }

    It 'stops one VM from eight runspaces at once: one stops it, a runspace that raced it gets InvalidVmState' {
        $vm = New-PvhVm -Name stop-race -KernelPath $spin -MemoryMB 16 | Start-PvhVm -PassThru
        $errors = 1..8 | ForEach-Object -ThrottleLimit 8 -TimeoutSeconds 60 -Parallel {
            Import-Module (Join-Path $using:modulePath 'PvhVm.psd1')
            Stop-PvhVm -Name stop-race -ErrorAction SilentlyContinue -ErrorVariable e
            $e
        }
        @($errors).Count | Should -BeLessThan 8
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -Be 'InvalidVmState,PvhVm.Module.Commands.StopPvhVmCommand' }
        $vm.State | Should -Be 'Stopped'
        $vm.ExitReason | Should -Be 'Stopped'
    }
}

Describe 'A user without access to /dev/kvm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    It 'is told by Test-PvhHost what is wrong and how to fix it' {
        $lines = Invoke-AsUnprivileged "Test-PvhHost | ForEach-Object { 'usable=' + `$_.IsUsable; 'problem=' + `$_.Problem; 'remedy=' + `$_.Remedy }"
        $lines | Should -Contain 'usable=False'
        ($lines -match '^problem=') | Should -Match 'Permission denied'
        ($lines -match '^remedy=') | Should -Match 'kvm'
    }

    It 'gets KvmUnavailable from Start-PvhVm, with the fix as the recommended action' {
        # nobody's own runtime directory (the test run's belongs to root); the VM goes at the end, with its host.
        $env:PVHVM_RUNTIME_DIR, $runtime = "/tmp/pvhvm-nobody-$PID", $env:PVHVM_RUNTIME_DIR
        try {
            $lines = Invoke-AsUnprivileged "New-PvhVm -Name denied -KernelPath '$sleep' -MemoryMB 16 -InProcess:`$$($Hosting -eq 'InProcess') | Start-PvhVm -ErrorVariable e -ErrorAction SilentlyContinue; 'id=' + `$e[0].FullyQualifiedErrorId; 'category=' + `$e[0].CategoryInfo.Category; 'action=' + `$e[0].ErrorDetails.RecommendedAction; 'state=' + (Get-PvhVm denied).State; Remove-PvhVm denied -Force"
        }
        finally {
            Remove-Item -Recurse -Force $env:PVHVM_RUNTIME_DIR -ErrorAction SilentlyContinue
            $env:PVHVM_RUNTIME_DIR = $runtime
        }
        $lines | Should -Contain 'id=KvmUnavailable,PvhVm.Module.Commands.StartPvhVmCommand'
        $lines | Should -Contain 'category=PermissionDenied'
        ($lines -match '^action=') | Should -Match 'kvm'
        $lines | Should -Contain 'state=Failed'
    }
}

Describe 'Paths that are not kernel images (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        $fifo = Join-Path ([IO.Path]::GetTempPath()) "pvhvm-fifo-$PID"
        & mkfifo $fifo
    }
    AfterAll { Remove-Item $fifo -ErrorAction SilentlyContinue }
    AfterEach { Clear-PvhVm }

    It 'refuses <Path> as a kernel with KernelImageNotAFile, without blocking' -ForEach @(
        @{ Path = '/dev/zero' }, @{ Path = '/tmp' }, @{ Path = 'FIFO' }
    ) {
        $target = if ($Path -eq 'FIFO') { $fifo } else { $Path }
        $clock = [Diagnostics.Stopwatch]::StartNew()
        { Get-PvhBootInfo -LiteralPath $target -ErrorAction Stop } | Should -Throw -ErrorId 'KernelImageNotAFile*'
        { New-PvhVm -Name notafile -KernelPath $target -ErrorAction Stop } | Should -Throw -ErrorId 'KernelImageNotAFile*'
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        Get-PvhVm -Name notafile -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
