using Grpc.Core;
using Lcluster.Etcd.Transport;

namespace Lcluster.Etcd.Tests;

/// <summary>Which failed calls count as "etcd did not answer" (tried on the next endpoint, an unknown outcome for a write) and which as etcd's refusal.</summary>
public sealed class EtcdErrorsTests
{
    [Fact]
    public void A_connection_that_outlasted_the_connect_timeout_is_unanswered_not_a_refusal()
    {
        // What Grpc.Net.Client throws when SocketsHttpHandler gives up setting the connection up (seen on a loaded machine
        // against an etcd still starting): CANCELLED, with the handler's own cancellation inside.
        var timedOut = new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client.",
            new TaskCanceledException("connect timed out", new TimeoutException())));
        Assert.True(EtcdErrors.IsUnanswered(timedOut));
    }

    [Fact]
    public void Transport_failures_and_deadlines_are_unanswered()
    {
        Assert.True(EtcdErrors.IsUnanswered(new RpcException(new Status(StatusCode.Unavailable, "connection refused"))));
        Assert.True(EtcdErrors.IsUnanswered(new RpcException(new Status(StatusCode.DeadlineExceeded, "deadline"))));
        Assert.True(EtcdErrors.IsUnanswered(new RpcException(new Status(StatusCode.Unknown, "context deadline exceeded"))));
        Assert.True(EtcdErrors.IsUnanswered(new RpcException(new Status(StatusCode.Internal, "reset", new IOException("reset by peer")))));
    }

    [Fact]
    public void A_member_without_a_leader_refused_the_call_before_proposing_it_so_a_write_may_go_to_another_member()
    {
        var noLeader = new RpcException(new Status(StatusCode.Unavailable, "etcdserver: no leader"));
        Assert.True(EtcdErrors.IsUnanswered(noLeader));
        Assert.True(EtcdErrors.NoLeader(noLeader));
        Assert.True(EtcdErrors.NeverSent(noLeader));
        // A member that lost its leader while a write waited answers otherwise: that write's outcome is unknown.
        Assert.False(EtcdErrors.NeverSent(new RpcException(new Status(StatusCode.Unavailable, "etcdserver: leader changed"))));
        Assert.False(EtcdErrors.NeverSent(new RpcException(new Status(StatusCode.Unavailable, "etcdserver: request timed out"))));
    }

    [Fact]
    public void Etcds_own_refusals_are_not_unanswered()
    {
        Assert.False(EtcdErrors.IsUnanswered(new RpcException(new Status(StatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request"))));
        Assert.False(EtcdErrors.IsUnanswered(new RpcException(new Status(StatusCode.Cancelled, "etcdserver: request cancelled"))));
        Assert.False(EtcdErrors.IsUnanswered(new RpcException(new Status(StatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted"))));
    }

    [Fact]
    public void Etcd_taking_no_request_for_now_is_told_apart_from_a_request_too_large()
    {
        Assert.True(EtcdErrors.RefusedForNow(new RpcException(new Status(StatusCode.ResourceExhausted, "etcdserver: too many requests"))));
        Assert.True(EtcdErrors.RefusedForNow(new RpcException(new Status(StatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded"))));
        // gRPC's own limit on a message's size: asking again would be refused again.
        Assert.False(EtcdErrors.RefusedForNow(new RpcException(new Status(StatusCode.ResourceExhausted, "grpc: received message larger than max (4194405 vs. 4194304)"))));
    }
}
