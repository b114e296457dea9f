namespace Lcluster.Runtime.Security;

/// <summary>What a matching syscall gets: allowed, or refused with an errno.</summary>
internal enum SeccompVerdict
{
    Allow,
    Errno,
}

/// <summary>libseccomp's comparison operators (enum scmp_compare), by their numbers.</summary>
internal enum SeccompCompare
{
    NotEqual = 1,
    Less = 2,
    LessOrEqual = 3,
    Equal = 4,
    GreaterOrEqual = 5,
    Greater = 6,
    /// <summary>(argument &amp; Value) == ValueTwo.</summary>
    MaskedEqual = 7,
}

/// <summary>One condition on a syscall argument, as in a Docker profile's "args".</summary>
internal sealed record SeccompArgument(int Index, SeccompCompare Op, ulong Value, ulong ValueTwo = 0);

/// <summary>When a rule applies: on these architectures, with these capabilities, from this kernel on (empty: always).</summary>
internal sealed record SeccompScope
{
    public IReadOnlyList<string> Arches { get; init; } = [];
    public IReadOnlyList<string> Caps { get; init; } = [];
    public Version? MinKernel { get; init; }
}

/// <summary>
/// One entry of a Docker seccomp profile's "syscalls": names, action, argument
/// conditions, and the "includes"/"excludes" that decide whether it applies.
/// </summary>
internal sealed record SeccompRule(SeccompVerdict Verdict, IReadOnlyList<string> Names)
{
    public int ErrnoRet { get; init; }
    public IReadOnlyList<SeccompArgument> Arguments { get; init; } = [];
    public SeccompScope? Includes { get; init; }
    public SeccompScope? Excludes { get; init; }
    public string? Comment { get; init; }

    /// <summary>Docker's reading: every include must hold, and no exclude may (arches: any listed; caps: any listed).</summary>
    public bool AppliesTo(string arch, IReadOnlySet<string> caps, Version kernel) =>
        (Includes is null || (Matches(Includes.Arches, arch) && Includes.Caps.All(caps.Contains)
                              && (Includes.MinKernel is null || kernel >= Includes.MinKernel)))
        && (Excludes is null || (!Excludes.Arches.Contains(arch) && !Excludes.Caps.Any(caps.Contains)
                                 && (Excludes.MinKernel is null || kernel < Excludes.MinKernel)));

    private static bool Matches(IReadOnlyList<string> arches, string arch) => arches.Count == 0 || arches.Contains(arch);
}
