using Lcluster.Client;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>
/// What the server chose is shown escaped as well as what users chose: a node that is hostile, or relays a
/// hostile node's answer, must not drive the terminal of the person reading it.
/// </summary>
public sealed class HumanOutputTests
{
    private const string Sequence = "\u001b]0;owned\u0007";
    private const string Shown = "\\x1b]0;owned\\x07";
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public void A_jobs_id_array_and_node_are_shown_escaped_in_every_view_of_it()
    {
        var job = new Job { Id = Sequence, ArrayId = Sequence, Node = Sequence, Command = "true", State = JobState.Running, Limits = new Limits() };

        foreach (var text in new[] { HumanOutput.Job(job, Now), HumanOutput.Jobs([job], Now), HumanOutput.Event(new JobEvent { Job = job }, Now) })
        {
            Assert.DoesNotContain("\u001b", text);
            Assert.Contains(Shown, text);
        }
    }

    [Fact]
    public void A_nodes_name_and_address_are_shown_escaped()
    {
        var text = HumanOutput.Nodes([new Node { Name = Sequence, Address = Sequence + ":7000" }], Now);

        Assert.DoesNotContain("\u001b", text);
        Assert.Contains(Shown + ":7000", text);
    }
}
