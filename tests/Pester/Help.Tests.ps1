BeforeDiscovery {
    $cmdlets = (Import-PowerShellDataFile (Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1')).CmdletsToExport
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
}

Describe 'Get-Help <_> -Full' -ForEach $cmdlets {
    BeforeAll {
        $name = $_
        $help = Get-Help $name -Full
        $command = Get-Command $name
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters
    }

    It 'comes from the module''s MAML file, with a synopsis and a description' {
        $help.Name | Should -Be $name
        # Without a help file PowerShell makes the synopsis up from the syntax.
        $help.Synopsis | Should -Not -Match "^\s*$name\s"
        $help.Synopsis.Length | Should -BeGreaterThan 20
        ($help.Description.Text -join "`n").Length | Should -BeGreaterThan 80
    }

    It 'documents every parameter, with the metadata of the built cmdlet' {
        $documented = @($help.parameters.parameter)
        $actual = $command.Parameters.Keys | Where-Object { $_ -notin $common }
        $documented.name | Sort-Object | Should -Be ($actual | Sort-Object)
        foreach ($parameter in $documented) {
            ($parameter.description.Text -join '').Length | Should -BeGreaterThan 10 -Because "-$($parameter.name) needs a description"
            $isMandatory = $command.Parameters[$parameter.name].ParameterSets.Values.IsMandatory -contains $true
            $parameter.required | Should -Be $isMandatory.ToString().ToLower() -Because "-$($parameter.name)"
        }
    }

    It 'gives each parameter the position it binds at in every parameter set' {
        foreach ($parameter in @($help.parameters.parameter)) {
            $positions = @($command.Parameters[$parameter.name].ParameterSets.Values.Position |
                ForEach-Object { if ($_ -ge 0) { "$_" } else { 'named' } } | Select-Object -Unique)
            $positions | Should -HaveCount 1 -Because "-$($parameter.name) should bind at one position, which the help can state"
            $parameter.position | Should -Be $positions[0] -Because "-$($parameter.name)"
        }
    }

    It 'has at least two examples with commands and output or remarks' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($example in $examples) {
            $example.code | Should -Match $name
            ($example.remarks.Text -join '').Length | Should -BeGreaterThan 10
        }
    }

    It 'lists inputs and outputs' {
        $help.returnValues.returnValue.type.name | Should -Not -BeNullOrEmpty
        $help.inputTypes.inputType.type.name | Should -Not -BeNullOrEmpty
    }

    It 'binds a piped string when its inputs list System.String' {
        if ($help.inputTypes.inputType.type.name -notcontains 'System.String') { return }
        $required = @{
            'Send-PvhConsole' = @{ Text = 'x' }
            'Add-PvhVmDisk' = @{ Path = 'absent.img' }
            'Invoke-PvhVsock' = @{ Name = 'pvh-help-absent'; Port = 1 }
            'Add-PvhVmNetworkAdapter' = @{ TapName = 'pvhhelp0' }
            'Checkpoint-PvhVm' = @{ Path = 'pvh-help-absent-checkpoint' }
        }
        $arguments = $required[$name] ?? @{}
        'pvh-help-absent' | & $name @arguments -ErrorVariable err -ErrorAction SilentlyContinue
        $err.FullyQualifiedErrorId | Should -Not -BeLike 'InputObjectNotBound*'
        $err | Should -HaveCount 1
    }
}

Describe 'about_PvhVm' {
    It 'is a help topic that walks through a runbook' {
        $text = Get-Help about_PvhVm | Out-String
        $text | Should -Match 'about_PvhVm'
        foreach ($step in 'New-PvhVm', 'Start-PvhVm', 'Wait-PvhVm -ConsolePattern', 'Get-PvhConsole', 'Stop-PvhVm', 'Remove-PvhVm') {
            $text | Should -Match ([regex]::Escape($step))
        }
    }
}

Describe 'about_PvhVm_Fleet' {
    It 'is a help topic that walks through a fleet over SSH remoting' {
        $text = Get-Help about_PvhVm_Fleet | Out-String
        $text | Should -Match 'about_PvhVm_Fleet'
        foreach ($step in 'Subsystem powershell', 'Invoke-Command -HostName $hosts @ssh', 'New-PSSession -HostName', 'PSComputerName', 'CgroupNotWritable') {
            $text | Should -Match ([regex]::Escape($step))
        }
    }
}
