namespace Lcluster.Runtime.Cgroups;

/// <summary>
/// A job's cgroup is made under a parent other owners may remove when they empty it (another daemon, a
/// test's cleanup): when the mkdir finds an ancestor gone (ENOENT), the tree forgets that its parent was
/// ready and makes the whole path once more.
/// </summary>
internal static class AncestorRace
{
    public static IJobCgroup Create(Func<IJobCgroup> create, Action forgetParent)
    {
        try
        {
            return create();
        }
        catch (Native.NativeCallException e) when (e.ErrorNumber == Native.Errno.ENOENT)
        {
            forgetParent();
            return create();
        }
    }
}
