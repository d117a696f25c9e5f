using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Bench;

/// <summary>
/// The Fennel app of the benchmark, built the same way for the bench worker and for the run's client, so a task's
/// options (bench.noop stores no result) are the same on the sending and the running side.
/// </summary>
internal static class BenchApp
{
    /// <summary>Builds the app from command-line arguments (<c>-b</c>, <c>--result-backend</c>, <c>-l</c>) and registers the tasks.</summary>
    public static (FennelApp App, BenchTasks Tasks) Build(string[] args)
    {
        var builder = FennelApp.CreateBuilder(args);
        builder.Services.AddSingleton(services => DrainProbe.FromEnvironment(services.GetRequiredService<TimeProvider>()));
        var app = builder.Build();
        return (app, BenchTasks.Register(app));
    }
}
