using System.Collections;
using Fennel.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Fennel.Tests.Configuration;

public class ConfigurationTests
{
    [Fact]
    public void Fennel_environment_variables_map_to_the_fennel_section()
    {
        var variables = new Hashtable
        {
            ["FENNEL_BROKER_URL"] = "memory://env",
            ["FENNEL_RESULT_BACKEND"] = "memory://results",
            ["FENNEL_WORKER__CONCURRENCY"] = "16",
            ["PATH"] = "/usr/bin",
        };
        var mapped = FennelEnvironmentVariables.Read(variables).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("memory://env", mapped["Fennel:BROKERURL"]);
        Assert.Equal("memory://results", mapped["Fennel:RESULTBACKEND"]);
        Assert.Equal("16", mapped["Fennel:WORKER:CONCURRENCY"]);
        Assert.Equal(3, mapped.Count);
    }

    [Fact]
    public void Global_arguments_are_read_in_every_form()
    {
        var parsed = GlobalArguments.Parse(["worker", "-Q", "a", "-b", "memory://x", "--result-backend=memory://y", "-l", "debug", "--logfile", "w.log"]);
        Assert.Equal("memory://x", parsed.Configuration["Fennel:BrokerUrl"]);
        Assert.Equal("memory://y", parsed.Configuration["Fennel:ResultBackend"]);
        Assert.Equal(LogLevel.Debug, parsed.LogLevel);
        Assert.Equal("w.log", parsed.LogFile);
    }

    [Fact]
    public async Task Command_line_overrides_code_options()
    {
        var builder = FennelApp.CreateBuilder(["call", "x", "--broker", "memory://from-command-line", "-l", "error"]);
        builder.Configure(o => o.BrokerUrl = "memory://from-code");
        await using var app = builder.Build();
        Assert.Equal("memory://from-command-line", app.Options.BrokerUrl);
    }

    [Fact]
    public async Task Appsettings_style_configuration_overrides_code_and_binds_worker_options()
    {
        var builder = FennelApp.CreateBuilder(["-l", "error"]);
        builder.Configure(o => { o.DefaultQueue = "from-code"; o.Worker.Concurrency = 2; });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fennel:DefaultQueue"] = "from-config",
            ["Fennel:Worker:PrefetchMultiplier"] = "7",
        });
        await using var app = builder.Build();
        Assert.Equal("from-config", app.Options.DefaultQueue);
        Assert.Equal(2, app.Options.Worker.Concurrency);
        Assert.Equal(7, app.Options.Worker.PrefetchMultiplier);
        Assert.Null(app.ConfigurationError);
    }

    [Theory]
    [InlineData("Fennel:BrokerUrl", "localhost:6379", "has no scheme")]
    [InlineData("Fennel:BrokerUrl", "ftp://x", "unknown scheme 'ftp://'")]
    [InlineData("Fennel:Worker:Concurrency", "0", "at least 1")]
    [InlineData("Fennel:Worker:Concurrency", "many", "Bad value")]
    [InlineData("Fennel:ResultExpires", "-00:00:01", "must be positive")]
    public async Task Bad_configuration_is_reported_clearly_on_first_use(string key, string value, string expected)
    {
        var builder = FennelApp.CreateBuilder(["-l", "error"]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        await using var app = builder.Build();
        var ex = Record.Exception(() => app.Transport);
        Assert.IsType<FennelConfigurationException>(ex);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Urls_are_redacted_in_logs_and_errors() =>
        Assert.Equal("redis://:***@host:6379/0", BrokerUrls.Redact("redis://:secret@host:6379/0"));
}
