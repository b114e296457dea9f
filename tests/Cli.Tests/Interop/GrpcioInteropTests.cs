namespace Lcluster.Cli.Tests.Interop;

/// <summary>
/// Python's grpcio, a gRPC implementation we did not write, using a real lclusterd from the
/// .proto files alone: the API, server reflection and grpc.health.v1.
/// </summary>
[Collection("single node")]
public sealed class GrpcioInteropTests(SingleNode node, PythonClient python) : IClassFixture<PythonClient>
{
    [Fact]
    public async Task A_job_submitted_by_grpcio_runs_with_its_bytes_intact_and_reports_back()
    {
        var id = (await python.CallAsync(node.Server, "submit")).GetProperty("id").GetString()!;
        var job = await python.CallAsync(node.Server, "finish", id);
        var output = await python.CallAsync(node.Server, "output", id);

        Assert.Equal("JOB_STATE_FAILED", job.GetProperty("state").GetString());
        Assert.Equal(3, job.GetProperty("exit_code").GetInt32());
        Assert.Equal("ジョブ ✓", job.GetProperty("name").GetString());
        Assert.Equal("v=1 é", job.GetProperty("env").GetProperty("K").GetString());
        Assert.Equal(64L << 20, job.GetProperty("memory").GetInt64());
        Assert.Equal((2, -7), (job.GetProperty("retries").GetInt32(), job.GetProperty("priority").GetInt32()));
        byte[] expected = [.. Enumerable.Range(0, 256).Select(i => (byte)i), .. "v=1 é|C.UTF-8"u8.ToArray()];
        Assert.Equal(Convert.ToHexString(expected).ToLowerInvariant(), output.GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task An_error_status_and_its_non_ascii_message_arrive_intact()
    {
        var answer = await python.CallAsync(node.Server, "error");

        Assert.Equal("INVALID_ARGUMENT", answer.GetProperty("code").GetString());
        Assert.StartsWith("'ジョブ' is not a job id", answer.GetProperty("details").GetString());
    }

    [Fact]
    public async Task A_deadline_set_by_grpcio_ends_a_following_output_stream()
    {
        var id = await node.AddAsync("--addjob=sleep 600");
        try
        {
            var answer = await python.CallAsync(node.Server, "deadline", id);

            Assert.Equal("DEADLINE_EXCEEDED", answer.GetProperty("code").GetString());
            Assert.InRange(answer.GetProperty("seconds").GetDouble(), 0.4, 20);
        }
        finally
        {
            await node.RunAsync($"--removejob={id}");
        }
    }

    [Fact]
    public async Task Reflection_lists_the_services_and_describes_every_method_of_the_api()
    {
        var answer = await python.CallAsync(node.Server, "reflection");

        var services = answer.GetProperty("services").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Contains("lcluster.v1.Lclusterd", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Equal(["AddJob", "CheckJob", "CreateDashboardToken", "GetArtifacts", "GetInputs", "GetOutput", "ListJobs", "ListNodes", "RemoveJob", "UploadInputs", "WatchJobs"],
            answer.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).ToArray());
    }

    [Fact]
    public async Task Health_answers_serving_for_the_server_and_the_api_of_a_registered_node()
    {
        var answer = await python.CallAsync(node.Server, "health");

        Assert.Equal("SERVING", answer.GetProperty("(server)").GetString());
        Assert.Equal("SERVING", answer.GetProperty("lcluster.v1.Lclusterd").GetString());
    }
}
