namespace Lcluster.Runtime;

/// <summary>
/// How containers get their own user namespace: each container (a waiting init included) holds one block of
/// <see cref="IdsPerContainer"/> host uids and gids, and its ids 0..IdsPerContainer-1 map onto it, so root in a job
/// is an unprivileged id on the host. Blocks are taken from <see cref="FirstHostId"/> upwards, lowest free first,
/// and come back when the container's last process is gone.
/// </summary>
public sealed record UserNamespaceOptions
{
    /// <summary>The lowest id any block may use, and the least FirstHostId may be (above the host's own users).</summary>
    public const uint LowestFirstHostId = 65536;

    /// <summary>
    /// The first host id of block 0. 2^30 by default: above the ranges useradd hands out in /etc/subuid (by default up
    /// to 600100000), below 2^31 (tools that read ids as signed), and 65536-aligned. Two daemons on one host need
    /// disjoint blocks: give each its own FirstHostId.
    /// </summary>
    public uint FirstHostId { get; init; } = 1u << 30;

    /// <summary>Ids per container: 65536 covers every id a root filesystem uses (nobody is 65534).</summary>
    public uint IdsPerContainer { get; init; } = 65536;

    /// <summary>How many blocks there are: containers (running or waiting) beyond it cannot start.</summary>
    public int MaxContainers { get; init; } = 4096;

    /// <summary>The host id one past the last block.</summary>
    public ulong EndHostId => FirstHostId + (ulong)IdsPerContainer * (ulong)MaxContainers;
}
