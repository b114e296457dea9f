namespace Lcluster.Runtime.Cgroups;

internal static class CgroupTrees
{
    /// <summary>The tree for the host's cgroup layout below <paramref name="parent"/>.</summary>
    public static ICgroupTree ForHost(CgroupFs fs, string root, string parent) =>
        CgroupModes.Detect(root) switch
        {
            CgroupMode.V2 => new V2.V2Tree(fs, root, parent),
            CgroupMode.Hybrid => new V1.V1Tree(fs, root, parent, hybrid: true),
            _ => new V1.V1Tree(fs, root, parent, hybrid: false),
        };
}
