using System.Net;
using System.Net.Http.Headers;

namespace Lcluster.Rpc.Tests.Support;

/// <summary>
/// A gRPC request made with plain HttpClient, for tests that must control the request bytes or
/// headers, or read the raw status, without src/Rpc's client in between.
/// </summary>
internal static class RawCall
{
    public static HttpClient Client() => new(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(60) };

    public static HttpRequestMessage Request(string address, string method, HttpContent content,
        string contentType = "application/grpc")
    {
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, $"http://{address}{method}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        return request;
    }

    /// <summary>A body written in the given pieces, each flushed on its own after a pause.</summary>
    public sealed class PiecesContent(params byte[][] pieces) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            foreach (var piece in pieces)
            {
                await stream.WriteAsync(piece);
                await stream.FlushAsync();
                await Task.Delay(20);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    /// <summary>The grpc-status (trailers, or headers for trailers-only) and the body bytes of a raw response.</summary>
    public static async Task<(string? Status, string? Message, byte[] Body)> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        string? Get(string name) =>
            response.Headers.TryGetValues(name, out var h) ? h.First()
            : response.TrailingHeaders.TryGetValues(name, out var t) ? t.First() : null;
        return (Get("grpc-status"), Get("grpc-message"), body);
    }
}
