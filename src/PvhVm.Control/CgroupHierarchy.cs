namespace PvhVm.Control;

/// <summary>
/// Where this process sits in a cgroup v1 controller's hierarchy, from /proc/self/mountinfo (where the hierarchy is
/// mounted, and which of its cgroups the mount shows as its root) and /proc/self/cgroup (this process's cgroup in it).
/// </summary>
internal static class CgroupHierarchy
{
    /// <summary>This process's cgroup directory for <paramref name="controller"/>, or null when no v1 hierarchy has that controller mounted.</summary>
    public static string? CurrentDirectory(string controller)
        => CurrentDirectory(controller, File.ReadAllText("/proc/self/mountinfo"), File.ReadAllText("/proc/self/cgroup"));

    internal static string? CurrentDirectory(string controller, string mountInfo, string procCgroup)
    {
        var mount = FindMount(controller, mountInfo);
        var cgroup = FindCgroup(controller, procCgroup);
        if (mount is null || cgroup is null)
        {
            return null;
        }

        // A mount of a sub-tree (a container without a cgroup namespace) shows the cgroup root/x/y at <mount point>/y
        // when its root is /root/x; a cgroup outside the mounted sub-tree is not reachable through it.
        var (root, mountPoint) = mount.Value;
        string relative;
        if (root == "/")
        {
            relative = cgroup;
        }
        else if (cgroup == root || cgroup.StartsWith(root + "/", StringComparison.Ordinal))
        {
            relative = cgroup[root.Length..];
        }
        else
        {
            return null;
        }

        return mountPoint + relative.TrimEnd('/');
    }

    /// <summary>
    /// The (root, mount point) of the cgroup v1 mount carrying <paramref name="controller"/>. A mountinfo line:
    /// "id parent major:minor root mount-point options [optional fields] - fstype source super-options".
    /// </summary>
    private static (string Root, string MountPoint)? FindMount(string controller, string mountInfo)
    {
        foreach (var line in mountInfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (separator < 6 || separator + 3 >= fields.Length || fields[separator + 1] != "cgroup")
            {
                continue;
            }

            if (fields[separator + 3].Split(',').Contains(controller))
            {
                return (Unescape(fields[3]), Unescape(fields[4]));
            }
        }

        return null;
    }

    /// <summary>The path of this process's cgroup in the hierarchy of <paramref name="controller"/>: /proc/self/cgroup lines "id:controllers:path".</summary>
    private static string? FindCgroup(string controller, string procCgroup)
    {
        foreach (var line in procCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(':', 3);
            if (fields.Length == 3 && fields[1].Split(',').Contains(controller))
            {
                return fields[2];
            }
        }

        return null;
    }

    /// <summary>mountinfo writes a space, tab, newline or backslash in a path as a three-digit octal escape.</summary>
    private static string Unescape(string field)
        => System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}
