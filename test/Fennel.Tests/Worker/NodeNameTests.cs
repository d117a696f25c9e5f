using Fennel.Worker;

namespace Fennel.Tests.Worker;

public class NodeNameTests
{
    [Theory]
    [InlineData("customers.%h", "celery@customers.box.example.com")]
    [InlineData("celery@%h", "celery@box.example.com")]
    [InlineData("w1@%n", "w1@box")]
    [InlineData("w@%n.%d", "w@box.example.com")]
    [InlineData("plain", "celery@plain")]
    [InlineData("a@100%%", "a@100%")]
    public void Expands_like_celery(string pattern, string expected) =>
        Assert.Equal(expected, NodeNames.Expand(pattern, "box.example.com"));
}

public class NodePathTests
{
    private const string Node = "customers@box.example.com";

    [Theory]
    [InlineData("%p.log", 0, "customers@box.example.com.log")]
    [InlineData("%h.log", 0, "box.example.com.log")]
    [InlineData("%n.log", 0, "customers.log")]
    [InlineData("%d.log", 0, "example.com.log")]
    [InlineData("/var/log/fennel/%n-%i.log", 0, "/var/log/fennel/customers-0.log")]
    [InlineData("/var/log/fennel/%n-%i.log", 2, "/var/log/fennel/customers-2.log")]
    [InlineData("/var/log/fennel/%n%I.log", 0, "/var/log/fennel/customers.log")]
    [InlineData("/var/log/fennel/%n%I.log", 3, "/var/log/fennel/customers-3.log")]
    [InlineData("100%%-%n", 0, "100%-customers")]
    [InlineData("%%n", 0, "%n")]
    [InlineData("trailing%", 0, "trailing%")]
    [InlineData("a%-b", 0, "a%-b")]
    public void Expands_paths_like_celerys_node_format(string pattern, int index, string expected) =>
        Assert.Equal(expected, NodeNames.FormatPath(pattern, Node, index));

    [Fact]
    public void The_default_node_name_expands_with_the_host()
    {
        var node = NodeNames.Expand("celery@%h", "box");
        Assert.Equal("celery-box-0.pid", NodeNames.FormatPath("%n-%h-%i.pid", node));
    }

    [Fact]
    public void An_unknown_substitution_is_an_error_that_names_it()
    {
        var ex = Assert.Throws<FormatException>(() => NodeNames.FormatPath("/run/%x.pid", Node));
        Assert.Contains("%x", ex.Message, StringComparison.Ordinal);
    }
}
