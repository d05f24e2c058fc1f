BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
}

Describe 'Get-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        Clear-PvhVm
        $null = 'web-1', 'web-2', 'db-1' | ForEach-Object { New-PvhVm -Name $_ -MemoryMB 32 }
        Start-PvhVm -Name 'db-1' -Wait -Timeout 30
    }
    AfterAll { Clear-PvhVm }

    It 'lists every VM, ordered by name' {
        (Get-PvhVm).Name | Should -Be 'db-1', 'web-1', 'web-2'
    }

    It 'finds by literal name, case-insensitively, positionally' {
        (Get-PvhVm 'WEB-1').Name | Should -Be 'web-1'
    }

    It 'finds by wildcard patterns, each VM once' {
        (Get-PvhVm -Name 'web-*', '*-1').Name | Should -Be 'web-1', 'web-2', 'db-1'
    }

    It 'returns nothing, and no error, for a wildcard that matches nothing' {
        Get-PvhVm -Name 'zz*' -ErrorVariable err | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
    }

    It 'filters by -State' {
        (Get-PvhVm -State Stopped).Name | Should -Be 'db-1'
        (Get-PvhVm -State Created, Stopped).Count | Should -Be 3
        (Get-PvhVm -Name 'web*' -State Stopped) | Should -BeNullOrEmpty
    }

    It 'finds by -Id, also from the pipeline by property name' {
        $vm = Get-PvhVm 'web-2'
        (Get-PvhVm -Id $vm.Id).Name | Should -Be 'web-2'
        ([pscustomobject]@{ Id = $vm.Id } | Get-PvhVm).Name | Should -Be 'web-2'
    }

    It 'takes names from the pipeline' {
        ('web-1', 'db-1' | Get-PvhVm).Name | Should -Be 'web-1', 'db-1'
    }

    It 'reports an unknown name as VmNotFound and an unknown id likewise' {
        Get-PvhVm -Name 'nope' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'VmNotFound,PvhVm.Module.Commands.GetPvhVmCommand'
        $err[0].TargetObject | Should -Be 'nope'
        $id = [guid]::NewGuid()
        Get-PvhVm -Id $id -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'VmNotFound,*'
        $err2[0].TargetObject | Should -Be $id
    }

    It 'completes -Name from the registered VMs' {
        $completion = TabExpansion2 -inputScript 'Get-PvhVm -Name we' -cursorColumn 'Get-PvhVm -Name we'.Length
        $completion.CompletionMatches.CompletionText | Should -Be 'web-1', 'web-2'
        $completion = TabExpansion2 -inputScript 'Stop-PvhVm d' -cursorColumn 'Stop-PvhVm d'.Length
        $completion.CompletionMatches.CompletionText | Should -Be 'db-1'
    }

    It 'quotes completions that need it' {
        $null = New-PvhVm -Name 'with space'
        $completion = TabExpansion2 -inputScript 'Start-PvhVm -Name with' -cursorColumn 'Start-PvhVm -Name with'.Length
        $completion.CompletionMatches.CompletionText | Should -Be "'with space'"
        Remove-PvhVm -Name 'with space'  -Confirm:$false
    }

    It 'completes names that are no bare word single-quoted and escaped, so each parses back to the name' {
        $names = 'e&f', 'a|b', "it$([char]0x2019)s", 'x y', 'd$x', 'b`t', "q'r", 's;t', '1e3', '-u'
        $vms = $names | ForEach-Object { New-PvhVm -Name $_ }
        try {
            foreach ($name in $names) {
                # A bare '-' starts a parameter name (and PowerShell completes nothing after a lone '-): the user types a quote and more.
                $line = "Start-PvhVm -Name $(if ($name[0] -eq '-') { "'$name" } else { $name[0] })"
                $text = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches |
                    Where-Object ListItemText -eq $name | ForEach-Object CompletionText
                $text | Should -HaveCount 1 -Because "'$name' is registered"
                $text | Should -BeLike "'*'" -Because "'$name' is no bare word"
                $errors = $null
                $ast = [System.Management.Automation.Language.Parser]::ParseInput("Start-PvhVm -Name $text", [ref] $null, [ref] $errors)
                $errors | Should -BeNullOrEmpty -Because "completion $text"
                $elements = $ast.EndBlock.Statements[0].PipelineElements[0].CommandElements
                $elements | Should -HaveCount 3 -Because "completion $text"
                $elements[2].Value | Should -BeExactly $name -Because "completion $text"
            }
        }
        finally { $vms | Remove-PvhVm -Confirm:$false }
    }
}
