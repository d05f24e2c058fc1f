# Shared by the PvhVm Pester files: where the built module and test guests are, and clean-up between tests.

# The cmdlets that make VMs, each with -InProcess (host process by default).
$hostingCmdlets = 'New-PvhVm', 'Restore-PvhVm'

function Import-BuiltPvhVm {
    Import-Module (Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1') -Force -Global
    foreach ($cmdlet in $hostingCmdlets) { $global:PSDefaultParameterValues.Remove("${cmdlet}:InProcess") }
}

# The two implementations of a VM, for Describe blocks that run once on each: -ForEach (Get-PvhVmHostingCase).
function Get-PvhVmHostingCase { @{ Hosting = 'HostProcess' }, @{ Hosting = 'InProcess' } }

# Makes every New-PvhVm and Restore-PvhVm of the test session (and of the background pipelines and parallel runspaces it
# starts, through Get-PvhVmHostingPreamble) create its VMs the given way.
function Use-PvhVmHosting {
    param([Parameter(Mandatory)] [ValidateSet('HostProcess', 'InProcess')] [string] $Hosting)
    foreach ($cmdlet in $hostingCmdlets) { $global:PSDefaultParameterValues["${cmdlet}:InProcess"] = $Hosting -eq 'InProcess' }
}

# A line for the start of a script run in another runspace or pwsh: its New-PvhVm and Restore-PvhVm create VMs as this
# session's do.
function Get-PvhVmHostingPreamble {
    ($hostingCmdlets | ForEach-Object { "`$PSDefaultParameterValues['${_}:InProcess'] = `$$([bool]$global:PSDefaultParameterValues["${_}:InProcess"]);" }) -join ' '
}

# The test kernel from scripts/build-test-kernel.sh (built before the tests by build.ps1; here it prints the cached
# paths): Vmlinux, Initramfs, the initramfs's Marker, and the CommandLine its /init needs (tests/kernel/init.c adds
# pvhtest.* words to it). The extras are TestKernelFixture's: only a host whose KVM emulates (kvm_pvm) needs them.
function Get-TestKernel {
    $vmlinux, $initramfs, $marker = & bash (Join-Path $PSScriptRoot '../../scripts/build-test-kernel.sh')
    if ($LASTEXITCODE -ne 0) { throw "scripts/build-test-kernel.sh failed ($LASTEXITCODE)" }
    $extras = if (Test-Path /sys/module/kvm_pvm) {
        ' noxsave nopti mitigations=off nokaslr no_timer_check no_int3_selftest clearcpuid=308,151,59,534,141 nofsgsbase noinvpcid nopcid pvm_native_fixup'
    } else { '' }
    [pscustomobject]@{ Vmlinux = $vmlinux; Initramfs = $initramfs; Marker = $marker; CommandLine = "console=ttyS0 panic=-1 rdinit=/init$extras" }
}

# The path of a test guest ELF from tests/guests (spin, echo, halt, triplefault, flood, ...).
function Get-TestGuestPath {
    param([Parameter(Mandatory)] [string] $Name)
    $path = Join-Path $env:PVHVM_TEST_GUESTS "$Name.elf"
    if (-not (Test-Path $path)) { throw "Test guest '$Name' was not built: $path" }
    $path
}

# The directory of a process's cgroup in a controller's v1 hierarchy, as /proc/<pid>/cgroup names it (the hierarchies
# are mounted at /sys/fs/cgroup/<controller> on the machines this runs on: docs/HOST.md).
function Get-CgroupDirectory {
    param([Parameter(Mandatory)] [int] $ProcessId, [Parameter(Mandatory)] [string] $Controller)
    $line = Get-Content "/proc/$ProcessId/cgroup" | Where-Object { (($_ -split ':')[1] -split ',') -contains $Controller }
    "/sys/fs/cgroup/$Controller$(($line -split ':', 3)[2])"
}

# The next connection to a listening socket, or an error after -Seconds: a blocking Accept() ignores ReceiveTimeout, so a
# guest that never connects would hang the whole run.
function Wait-SocketConnection {
    param([Parameter(Mandatory)] [Net.Sockets.Socket] $Listener, [Parameter(Mandatory)] [int] $Seconds)
    $accepting = $Listener.AcceptAsync()
    if (-not $accepting.Wait([TimeSpan]::FromSeconds($Seconds))) { throw "No connection to $($Listener.LocalEndPoint) within $Seconds s." }
    $accepting.Result
}

# Removes every registered VM, running or not, so tests start from an empty registry.
function Clear-PvhVm {
    Get-PvhVm | Remove-PvhVm -Force -Confirm:$false
}

# Runs a script in a fresh runspace of this process (so it shares the VM registry) without waiting.
function Start-BackgroundPipeline {
    param([Parameter(Mandatory)] [string] $Script)
    $ps = [powershell]::Create()
    $null = $ps.AddScript("Import-Module '$(Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1')'; $(Get-PvhVmHostingPreamble) $Script")
    $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
    $handle = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
    [pscustomobject]@{ PowerShell = $ps; Handle = $handle; Output = $output }
}

# What a background pipeline has written so far. By index: enumerating the collection while the pipeline
# still runs blocks until the pipeline ends.
function Get-BackgroundOutput {
    param([Parameter(Mandatory)] $Run)
    $items = $Run.Output
    for ($i = 0; $i -lt $items.Count; $i++) { $items[$i] }
}

# Ctrl+C on a background pipeline: PowerShell.Stop() is what the console host calls. The cmdlet must end
# promptly and the pipeline end as Stopped, not Failed.
function Stop-BackgroundPipeline {
    param([Parameter(Mandatory)] $Run)
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $Run.PowerShell.Stop()
    $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
    $Run.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
}

Export-ModuleMember -Function Import-BuiltPvhVm, Get-PvhVmHostingCase, Use-PvhVmHosting, Get-PvhVmHostingPreamble, Get-TestKernel, Get-TestGuestPath, Clear-PvhVm, Start-BackgroundPipeline, Get-BackgroundOutput, Stop-BackgroundPipeline, Get-CgroupDirectory, Wait-SocketConnection
