namespace Fennel.Sqlite.Tests;

/// <summary>Reading <c>sqlite://</c> URLs.</summary>
public sealed class SqliteOptionsTests
{
    [Fact]
    public void Three_slashes_give_a_path_relative_to_the_working_folder()
    {
        var options = SqliteOptions.Parse("sqlite:///data/fennel.db");

        Assert.Equal(Path.GetFullPath(Path.Combine(Environment.CurrentDirectory, "data", "fennel.db")), options.Path);
    }

    [Fact]
    public void Four_slashes_give_an_absolute_path()
    {
        var options = SqliteOptions.Parse("sqlite:////var/lib/app/fennel.db");

        Assert.Equal("/var/lib/app/fennel.db", options.Path);
    }

    [Fact]
    public void Defaults_apply_without_options()
    {
        var options = SqliteOptions.Parse("sqlite:///fennel.db");

        Assert.Equal(TimeSpan.FromSeconds(5), options.BusyTimeout);
        Assert.Equal(SqliteSynchronous.Full, options.Synchronous);
    }

    [Fact]
    public void Query_options_are_read()
    {
        var options = SqliteOptions.Parse("SQLITE:////tmp/f%20b.db?busy_timeout_ms=10000&synchronous=normal");

        Assert.Equal("/tmp/f b.db", options.Path);
        Assert.Equal(TimeSpan.FromSeconds(10), options.BusyTimeout);
        Assert.Equal(SqliteSynchronous.Normal, options.Synchronous);
    }

    [Theory]
    [InlineData("redis://localhost/0")]
    [InlineData("sqlite:")]
    [InlineData("sqlite://")]
    [InlineData("sqlite:///")]
    [InlineData("sqlite:///data/")]
    [InlineData("sqlite://host/fennel.db")]
    [InlineData("sqlite:///:memory:")]
    [InlineData("sqlite:///fennel.db?busy_timeout_ms=soon")]
    [InlineData("sqlite:///fennel.db?busy_timeout_ms=0")]
    [InlineData("sqlite:///fennel.db?synchronous=off")]
    [InlineData("sqlite:///fennel.db?journal=delete")]
    public void Bad_url_throws_a_configuration_error_naming_it(string url)
    {
        var error = Assert.Throws<FennelConfigurationException>(() => SqliteOptions.Parse(url));

        Assert.Contains(url, error.Message, StringComparison.Ordinal);
    }
}
