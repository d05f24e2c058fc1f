# A fleet of SSH "hosts" on this machine, for the tests of PowerShell remoting: each host is a network namespace with
# an sshd of its own (key authentication only, pwsh as its powershell subsystem, its own PvhVm runtime directory through
# SetEnv PVHVM_RUNTIME_DIR), reached from this namespace over a bridge. Everything it makes is removed by
# Remove-SshFleet, which also copes with a fleet that New-SshFleet only half made.
# Needs root (namespaces, mounts) and the packages of scripts/install-prerequisites.sh; it installs nothing.

Set-StrictMode -Version 3.0

# The absolute path of a program the fleet runs; a missing one is a setup fault, named with the script that installs it.
function Get-FleetTool([string] $Name) {
    foreach ($directory in @($env:PATH -split ':') + '/usr/sbin', '/sbin') {
        if ($directory -and (Test-Path -PathType Leaf (Join-Path $directory $Name))) {
            return Join-Path $directory $Name
        }
    }
    throw "'$Name' is not installed on this host. Run scripts/install-prerequisites.sh (build.ps1 runs it before Test, SlowTest and Bench)."
}

function Invoke-FleetCommand {
    $output = & $args[0] @($args | Select-Object -Skip 1) 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "'$($args -join ' ')' failed with exit code ${LASTEXITCODE}: $($output -join ' ')"
    }
    $output
}

# A /24 of 10.231.0.0/16 that no route of this namespace covers yet (other runs of this fixture may hold one).
function Get-FreeFleetSubnet {
    $routes = (& (Get-FleetTool ip) -4 route show) -join "`n"
    foreach ($octet in Get-Random -InputObject (1..254) -Count 254) {
        if ($routes -notmatch "(^|\s)10\.231\.$octet\.") { return "10.231.$octet" }
    }
    throw 'Every 10.231.x.0/24 subnet is routed already: another run of the fleet fixture did not clean up.'
}

<#
.SYNOPSIS
    Makes HostCount SSH hosts; returns the fleet: HostNames (their addresses), Connection (splat it into
    Invoke-Command/New-PSSession with -HostName), RuntimeDirectories (one per host, by address) and what Remove-SshFleet needs.
.PARAMETER ModulePath
    A folder of modules every session on the hosts finds (sshd's SetEnv PSModulePath, which pwsh extends with its own
    folders), as on machines where the module is installed: commands like Get-PvhVm then load it on first use.
.PARAMETER SubsystemPwsh
    The pwsh sshd runs as the powershell subsystem: by default the one running this fixture ($PSHOME/pwsh; under
    build.ps1 that is the pwsh `dotnet tool restore` restored from the repo's tool manifest), so nothing is installed.
#>
function New-SshFleet {
    param(
        [ValidateRange(1, 8)] [int] $HostCount = 2,
        [string] $ModulePath,
        [string] $SubsystemPwsh = (Join-Path $PSHOME 'pwsh')
    )
    $ip = Get-FleetTool ip
    $sshd = Get-FleetTool sshd
    $keygen = Get-FleetTool ssh-keygen
    $null = Get-FleetTool ssh # PowerShell's SSH transport runs it
    if (-not (Test-Path -PathType Leaf $SubsystemPwsh)) { throw "No pwsh at $SubsystemPwsh for sshd's powershell subsystem." }

    # Interface names hold at most 15 bytes: a short tag of this run names the bridge and the veths.
    $tag = -join ((48..57) + (97..122) | Get-Random -Count 5 | ForEach-Object { [char]$_ })
    $subnet = Get-FreeFleetSubnet
    $root = Join-Path ([IO.Path]::GetTempPath()) "pvhvm-fleet-$tag"
    $fleet = [pscustomobject]@{
        Root = $root
        Bridge = "pvf$tag"
        Namespaces = [Collections.Generic.List[string]]::new()
        HostNames = [Collections.Generic.List[string]]::new()
        RuntimeDirectories = @{}
        Connection = $null
    }
    try {
        $null = New-Item -ItemType Directory $root
        $null = Invoke-FleetCommand chmod 0700 $root
        $clientKey = Join-Path $root 'client_key'
        $knownHosts = Join-Path $root 'known_hosts'
        $null = Invoke-FleetCommand $keygen -q -t ed25519 -N '' -C 'pvhvm fleet client' -f $clientKey
        Copy-Item "$clientKey.pub" (Join-Path $root 'authorized_keys')

        $null = Invoke-FleetCommand $ip link add $fleet.Bridge type bridge
        $null = Invoke-FleetCommand $ip addr add "$subnet.1/24" dev $fleet.Bridge
        $null = Invoke-FleetCommand $ip link set $fleet.Bridge up
        foreach ($n in 1..$HostCount) {
            $namespace = "pvhvm-fleet-$tag-h$n"
            $address = "$subnet.$($n + 1)"
            $null = Invoke-FleetCommand $ip netns add $namespace
            $fleet.Namespaces.Add($namespace)
            $null = Invoke-FleetCommand $ip link add "pvf${tag}h$n" type veth peer name eth0 netns $namespace
            $null = Invoke-FleetCommand $ip link set "pvf${tag}h$n" master $fleet.Bridge up
            $null = Invoke-FleetCommand $ip -n $namespace addr add "$address/24" dev eth0
            $null = Invoke-FleetCommand $ip -n $namespace link set eth0 up
            $null = Invoke-FleetCommand $ip -n $namespace link set lo up

            $hostDir = Join-Path $root "h$n"
            $runtime = Join-Path $hostDir 'run'
            $null = New-Item -ItemType Directory $runtime
            $null = Invoke-FleetCommand chmod 0700 $runtime
            $hostKey = Join-Path $hostDir 'host_key'
            $null = Invoke-FleetCommand $keygen -q -t ed25519 -N '' -C "pvhvm fleet host $n" -f $hostKey
            Add-Content $knownHosts "$address $((Get-Content "$hostKey.pub").Trim())"
            $config = Join-Path $hostDir 'sshd_config'
            Set-Content $config @"
ListenAddress $address
HostKey $hostKey
PidFile $(Join-Path $hostDir 'sshd.pid')
AuthorizedKeysFile $(Join-Path $root 'authorized_keys')
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv PVHVM_RUNTIME_DIR=$runtime$(if ($ModulePath) { " PSModulePath=$ModulePath" })
Subsystem powershell $SubsystemPwsh -sshs -NoLogo
"@
            # ip netns exec runs in a mount namespace of its own: the tmpfs gives this sshd the /run/sshd it insists on
            # without touching the machine's /run. It also remounts /sys, which hides the cgroup hierarchies: the memory
            # and cpu ones are mounted again (the same hierarchies), so -MemoryLimitMB and -CpuQuotaPercent work on
            # these hosts as on a machine of their own. sshd daemonizes; the namespace keeps it and its sessions.
            $null = Invoke-FleetCommand $ip netns exec $namespace /bin/sh -c (@(
                    'mount -t tmpfs -o mode=0755 tmpfs /run', 'mkdir /run/sshd'
                    'mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup', 'mkdir /sys/fs/cgroup/memory /sys/fs/cgroup/cpu'
                    'mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory', 'mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu'
                    "exec '$sshd' -f '$config' -E '$(Join-Path $hostDir 'sshd.log')'"
                ) -join ' && ')
            Wait-FleetPort $address 22 (Join-Path $hostDir 'sshd.log')
            $fleet.HostNames.Add($address)
            $fleet.RuntimeDirectories[$address] = $runtime
        }
        $fleet.Connection = @{
            UserName = 'root'
            KeyFilePath = $clientKey
            Options = @{ UserKnownHostsFile = $knownHosts; StrictHostKeyChecking = 'yes' }
        }
        $fleet
    }
    catch {
        Remove-SshFleet $fleet
        throw
    }
}

function Wait-FleetPort([string] $Address, [int] $Port, [string] $Log) {
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ($true) {
        $client = [Net.Sockets.TcpClient]::new()
        try {
            $client.Connect($Address, $Port)
            return
        }
        catch {
            if ([DateTime]::UtcNow -gt $deadline) {
                throw "sshd on $Address did not listen within 20 s: $((Get-Content $Log -ErrorAction SilentlyContinue) -join ' ')"
            }
            Start-Sleep -Milliseconds 50
        }
        finally {
            $client.Dispose()
        }
    }
}

# The processes living in a network namespace: its sshd, the sessions' pwsh and the VM host processes started from them.
function Get-FleetProcess([string] $Namespace) {
    @(& (Get-FleetTool ip) netns pids $Namespace 2>$null | ForEach-Object { [int]$_ })
}

# Every process on the fleet's hosts, as Get-Process sees it.
function Get-SshFleetProcess {
    param([Parameter(Mandatory)] $Fleet)
    foreach ($namespace in $Fleet.Namespaces) {
        $processes = Get-FleetProcess $namespace
        if ($processes) { Get-Process -Id $processes -ErrorAction SilentlyContinue }
    }
}

<#
.SYNOPSIS
    Removes what New-SshFleet made: every process in the hosts' namespaces (sshd, sessions, VM host processes that are
    still there, and their cgroups), the namespaces, the bridge and its veths, and the fleet's folder (keys, configs,
    runtime directories).
#>
function Remove-SshFleet {
    param([Parameter(Mandatory)] $Fleet)
    $ip = Get-FleetTool ip
    # VMs the test removed end on their own within moments, and their monitor shells (sh) remove their cgroups: let them.
    $deadline = [DateTime]::UtcNow.AddSeconds(5)
    while ((Get-SshFleetProcess $Fleet | Where-Object Name -In 'pvhvm-host', 'sh') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
    # Whatever is left is ended here; the cgroups of VM hosts ended that way are removed after them.
    $cgroups = foreach ($process in Get-SshFleetProcess $Fleet | Where-Object Name -EQ 'pvhvm-host') {
        Get-Content "/proc/$($process.Id)/cgroup" -ErrorAction SilentlyContinue | ForEach-Object {
            $hierarchy, $path = ($_ -split ':', 3)[1, 2]
            if ($hierarchy -in 'memory', 'cpu' -and $path -match '/pvhvm/[^/]+$') { "/sys/fs/cgroup/$hierarchy$path" }
        }
    }
    foreach ($namespace in $Fleet.Namespaces) {
        $processes = Get-FleetProcess $namespace
        if ($processes) { Stop-Process -Id $processes -Force -ErrorAction SilentlyContinue }
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (@(Get-FleetProcess $namespace).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        & $ip netns del $namespace 2>$null
    }
    foreach ($cgroup in $cgroups) { & rmdir $cgroup 2>$null }
    # A veth goes with its namespace once that is gone; deleting the root end first makes it immediate.
    for ($n = 1; $n -le $Fleet.Namespaces.Count; $n++) { & $ip link del "$($Fleet.Bridge)h$n" 2>$null }
    & $ip link del $Fleet.Bridge 2>$null
    $global:LASTEXITCODE = 0
    Remove-Item -Recurse -Force $Fleet.Root -ErrorAction SilentlyContinue
}

Export-ModuleMember -Function New-SshFleet, Get-SshFleetProcess, Remove-SshFleet
