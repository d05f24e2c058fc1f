#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks the PvhVm module.
.DESCRIPTION
    Build  - publishes Release into out/PvhVm/<version>/ as a complete, importable module folder.
    Test   - Prerequisites, Build, then the xunit suite, then Pester against the built module folder (without the slow tests).
    SlowTest - Prerequisites, Build, then only the slow tests: xunit Category=Slow and Pester tag Slow (fuzzing, leak cycles, ...).
    Demo   - Build, import the built module and boot the built-in probe kernel.
    Bench  - Prerequisites, Build, then the benchmarks side by side with QEMU (bench/RESULTS.md).
    Clean  - removes out/ and every bin/obj folder.
    Prerequisites - installs (apt-get) every tool a test or benchmark uses: scripts/install-prerequisites.sh.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'SlowTest', 'Demo', 'Bench', 'Clean', 'Prerequisites')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$root = $PSScriptRoot
$out = Join-Path $root 'out'
$version = (Import-PowerShellDataFile (Join-Path $root 'PvhVm.psd1')).ModuleVersion
$moduleDir = Join-Path $out "PvhVm/$version"
$resultsDir = Join-Path $out 'test-results'

# A simple (non-advanced) function, so that native flags such as -o reach the command untouched.
function Invoke-Native {
    # Always an array: splatting a lone string would pass its characters.
    $command = $args[0]
    $arguments = @($args | Select-Object -Skip 1)
    & $command @arguments
    if ($LASTEXITCODE -ne 0) {
        throw "'$command $($arguments -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

# Every tool the tests and benchmarks run, installed up front: no test installs anything.
function Invoke-Prerequisites {
    Invoke-Native bash (Join-Path $root 'scripts/install-prerequisites.sh')
}

function Invoke-Build {
    if (Test-Path $moduleDir) { Remove-Item -Recurse -Force $moduleDir }
    Invoke-Native dotnet publish (Join-Path $root 'src/PvhVm.Module/PvhVm.Module.csproj') -c $Configuration -o $moduleDir --nologo -v quiet
    Copy-Item (Join-Path $root 'PvhVm.psd1') $moduleDir
    # The per-VM host program, NativeAOT: it starts in milliseconds and needs no .NET runtime on the machine (pwsh from
    # Microsoft's packages brings its own, which a framework-dependent program cannot use). Symbols stay out of the module.
    $hostDir = Join-Path $moduleDir 'host'
    Invoke-Native dotnet publish (Join-Path $root 'src/PvhVm.Host/PvhVm.Host.csproj') -c $Configuration -r linux-x64 '-p:PublishAot=true' -o $hostDir --nologo -v quiet
    Get-ChildItem $hostDir -Exclude 'pvhvm-host' | Remove-Item
    # A fresh pwsh, so the help reads the metadata of the module just built.
    Invoke-Native (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -File (Join-Path $root 'build/Build-Help.ps1') `
        -ModuleDirectory $moduleDir -SourceDirectory (Join-Path $root 'docs/help')
    Write-Host "Built module: $moduleDir"
}

function Get-Pester {
    $packages = Join-Path $out 'packages'
    $manifest = Get-ChildItem (Join-Path $packages 'pester') -Filter Pester.psd1 -Recurse -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $manifest) {
        Invoke-Native dotnet restore (Join-Path $root 'build/Tools.csproj') --packages $packages --nologo -v quiet
        $manifest = Get-ChildItem (Join-Path $packages 'pester') -Filter Pester.psd1 -Recurse | Select-Object -First 1
    }
    $manifest.FullName
}

function Invoke-Test([switch] $Slow) {
    Invoke-Prerequisites
    Invoke-Build
    # Minutes on a fresh machine, under a second when cached: built here so no test's timeout pays for it.
    Invoke-Native bash (Join-Path $root 'scripts/build-test-kernel.sh') | Out-Null
    New-Item -ItemType Directory -Force $resultsDir | Out-Null
    $suffix = if ($Slow) { '-slow' } else { '' }

    Invoke-Native dotnet test (Join-Path $root 'tests/PvhVm.Core.Tests/PvhVm.Core.Tests.csproj') -c $Configuration --nologo `
        --filter $(if ($Slow) { 'Category=Slow' } else { 'Category!=Slow' }) `
        --logger 'console;verbosity=normal' `
        --logger "junit;LogFilePath=$resultsDir/xunit$suffix.xml"

    # Pester runs in a child pwsh so the module under test loads from the built folder into a clean session. Its
    # host-process VMs go to a runtime directory of the run's own (short: a socket path must fit in 108 bytes), never
    # among the user's VMs.
    $pester = Get-Pester
    $runtimeDir = "/tmp/pvhvm-test-$PID"
    $script = @"
Import-Module '$pester' -MinimumVersion 5.0
`$config = New-PesterConfiguration
`$config.Run.Path = '$root/tests/Pester'
`$config.Run.Exit = `$true
`$config.Output.Verbosity = 'Detailed'
`$config.TestResult.Enabled = `$true
`$config.TestResult.OutputFormat = 'JUnitXml'
`$config.TestResult.OutputPath = '$resultsDir/pester$suffix.xml'
`$config.Filter.$(if ($Slow) { 'Tag' } else { 'ExcludeTag' }) = 'Slow'
`$env:PVHVM_MODULE_PATH = '$moduleDir'
`$env:PVHVM_TEST_GUESTS = '$(Join-Path $root "tests/PvhVm.Core.Tests/bin/$Configuration/net10.0/guests")'
`$env:PVHVM_RUNTIME_DIR = '$runtimeDir'
Invoke-Pester -Configuration `$config
"@
    try {
        Invoke-Native (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command $script
    }
    finally {
        Remove-TestRuntimeDirectory $runtimeDir
    }
    Write-TestSummary "$resultsDir/xunit$suffix.xml", "$resultsDir/pester$suffix.xml"
}

# Ends the host processes a failed test left behind in the run's runtime directory, and removes it.
function Remove-TestRuntimeDirectory([string] $Path) {
    $env:PVHVM_RUNTIME_DIR = $Path
    try {
        Import-Module (Join-Path $moduleDir 'PvhVm.psd1') -Force
        Get-PvhVm | Remove-PvhVm -Force -Confirm:$false -ErrorAction Continue
        Remove-Module PvhVm
        Remove-Item -Recurse -Force $Path -ErrorAction SilentlyContinue
    }
    finally {
        Remove-Item env:PVHVM_RUNTIME_DIR
    }
}

# One closing line for both suites, counted from their JUnit files.
function Write-TestSummary([string[]] $Files) {
    $suites = foreach ($file in $Files) { ([xml](Get-Content -Raw $file)).SelectNodes('//testsuite') }
    $total = ($suites | ForEach-Object { [int]$_.tests } | Measure-Object -Sum).Sum
    $failed = ($suites | ForEach-Object { [int]$_.failures + [int]$_.errors } | Measure-Object -Sum).Sum
    $skipped = ($suites | ForEach-Object { [int]$_.skipped } | Measure-Object -Sum).Sum
    Write-Host "Tests: $($total - $failed - $skipped) passed, $failed failed, $skipped skipped"
}

# The main job: boot the module's built-in probe kernel and show what it reported, as a user would.
function Invoke-Demo {
    Invoke-Build
    Import-Module (Join-Path $moduleDir 'PvhVm.psd1') -Force
    Test-PvhHost | Out-Host
    $vm = New-PvhVm -Name demo -CommandLine 'console=ttyS0 demo=1' -MemoryMB 256 | Start-PvhVm -Wait -Timeout 60 -PassThru
    try {
        $vm | Out-Host
        $vm | Get-PvhConsole | Out-Host
        $vm | Get-PvhMemoryMap | Out-Host
        Get-PvhBootInfo -Path $vm.KernelPath | Out-Host
        if ($vm.ExitReason -ne 'GuestReset' -or -not ($vm | Get-PvhConsole -Pattern '^probe done$')) {
            throw "The probe did not complete: state $($vm.State), exit $($vm.ExitReason)."
        }
    }
    finally {
        $vm | Remove-PvhVm -Force
    }
}

function Invoke-Clean {
    Remove-Item -Recurse -Force $out -ErrorAction SilentlyContinue
    Get-ChildItem $root -Directory -Recurse -Include bin, obj | Remove-Item -Recurse -Force
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'SlowTest' { Invoke-Test -Slow }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Prerequisites; Invoke-Build; & (Join-Path $root 'bench/Invoke-Bench.ps1') -ModuleDir $moduleDir }
    'Clean' { Invoke-Clean }
    'Prerequisites' { Invoke-Prerequisites }
}
