using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Support;

/// <summary>"rpctest.Echo": the plain behaviours most server tests need.</summary>
internal static class EchoService
{
    public const string Name = "rpctest.Echo";

    public static GrpcService Create() => new GrpcService(Name)
        .Unary<EchoRequest, EchoReply>("Unary", EchoRequest.Parser, (request, _) =>
            Task.FromResult(new EchoReply { Text = request.Text, Payload = request.Payload }))
        .ServerStreaming<EchoRequest, EchoReply>("Repeat", EchoRequest.Parser, async (request, writer, context) =>
        {
            for (var i = 0; i < request.Count; i++)
                await writer.WriteAsync(new EchoReply { Text = request.Text, Index = i }, context.CancellationToken);
        })
        .DuplexStreaming<EchoRequest, EchoReply>("Chat", EchoRequest.Parser, async (requests, writer, context) =>
        {
            var index = 0;
            while (await requests.MoveNextAsync(context.CancellationToken))
                await writer.WriteAsync(new EchoReply { Text = requests.Current.Text, Payload = requests.Current.Payload, Index = index++ });
        });
}
