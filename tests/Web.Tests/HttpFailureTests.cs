using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Web;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Web.Tests;

/// <summary>A handler's unexpected failure over HTTP: 500 and a fixed message, as over gRPC; what failed goes to the log only.</summary>
public sealed class HttpFailureTests
{
    [Fact]
    public async Task A_handler_that_fails_unexpectedly_answers_500_without_its_exception_text()
    {
        var log = new StringWriter();
        var api = new HttpApi(null!, null!, null!, new CallLimits(), new Log(log));
        var http = new DefaultHttpContext();
        http.Features.Set(HttpSurface.Instance);
        http.Request.Method = "GET";
        http.Response.Body = new MemoryStream();

        await api.RunAsync(http, HttpRoutes.OpenApi, (_, _) => throw new IOException("could not open /var/lib/lclusterd/out/secret"));

        http.Response.Body.Position = 0;
        var body = await new StreamReader(http.Response.Body).ReadToEndAsync();
        Assert.Equal(500, http.Response.StatusCode);
        Assert.Contains("lclusterd failed on this request; its log has the details", body);
        Assert.DoesNotContain("/var/lib", body);
        Assert.Contains("/var/lib/lclusterd/out/secret", log.ToString());
    }
}
