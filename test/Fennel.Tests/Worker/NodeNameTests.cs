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
