BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

# Runs the runbook printed in the about_PvhVm topic, exactly as documented, on the built-in probe and on
# Debian's cloud kernel (fetched by scripts/get-test-kernel.sh) up to its early-boot lines.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $about = Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/help/about_PvhVm.md')
    $blocks = [regex]::Matches($about, '(?s)```powershell\r?\n(.*?)```') | ForEach-Object { $_.Groups[1].Value }
    $runbook = [scriptblock]::Create(($blocks | Where-Object { $_ -match '^# Runbook:' } | Select-Object -First 1))
}

Describe 'The about_PvhVm runbook (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'is in the topic' {
        $runbook.Ast.ParamBlock.Parameters.Name.VariablePath.UserPath | Should -Contain 'KernelPath'
    }

    It 'boots the built-in probe, collects its console and cleans up' {
        $lines = & $runbook -Name 'runbook-probe' -CommandLine 'console=ttyS0 runbook=1'
        $lines.VmName | Select-Object -Unique | Should -Be 'runbook-probe'
        $lines.Text | Should -Contain 'cmdline=console=ttyS0 runbook=1'
        $lines.Text | Should -Contain 'probe done'
        Get-PvhVm | Should -BeNullOrEmpty
    }

    It 'boots the Debian cloud kernel to its early-boot lines' {
        $kernel = (& bash (Join-Path $PSScriptRoot '../../scripts/get-test-kernel.sh'))[0]
        $LASTEXITCODE | Should -Be 0
        $lines = & $runbook -Name 'runbook-debian' -KernelPath $kernel -CommandLine 'console=ttyS0 earlyprintk=ttyS0' `
            -ReadyPattern 'smpboot: Allowing \d+ CPUs' -TimeoutSeconds 240
        $text = $lines.Text -join "`n"
        $text | Should -Match 'Linux version \d'
        $text | Should -Match 'Command line: console=ttyS0 earlyprintk=ttyS0'
        $text | Should -Match 'BIOS-e820: \[mem 0x[0-9a-f]{16}-0x[0-9a-f]{16}\] usable'
        $text | Should -Match 'smpboot: Allowing 1 CPUs'
        Get-PvhVm | Should -BeNullOrEmpty
    }
}
