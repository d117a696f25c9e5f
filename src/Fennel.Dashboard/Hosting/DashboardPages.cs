using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Hosting;

/// <summary>
/// The web pages: the files of <c>wwwroot/</c>, embedded in the assembly (no build step, nothing from elsewhere), served
/// under the dashboard's route group so each needs a signed-in user like the API. Every response under the prefix is
/// <c>Cache-Control: no-store</c> (<see cref="Security.SecurityHeadersStartupFilter"/>), so a new version shows on reload.
/// </summary>
internal static class DashboardPages
{
    /// <summary>The embedded files' logical names start with this (see the project file).</summary>
    private const string ResourcePrefix = "Fennel.Dashboard.wwwroot/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly Lazy<FrozenDictionary<string, Page>> Files = new(Load);

    /// <summary>Maps <c>{prefix}/</c> to <c>index.html</c> and each file to its own path.</summary>
    public static void Map(RouteGroupBuilder group)
    {
        var files = Files.Value;
        var index = files.TryGetValue("index.html", out var found)
            ? found
            : throw new InvalidOperationException("Fennel.Dashboard was built without its wwwroot/index.html.");
        group.MapGet("/", (HttpContext context) =>
        {
            // The page's links are relative ("api/workers", "app.js"): they need the prefix to end with a slash.
            var path = context.Request.PathBase + context.Request.Path;
            return path.Value is { } value && !value.EndsWith('/')
                ? HttpResults.Redirect(value + "/" + context.Request.QueryString)
                : index.Result();
        });
        foreach (var (name, file) in files) group.MapGet("/" + name, file.Result);
    }

    private static FrozenDictionary<string, Page> Load()
    {
        var assembly = typeof(DashboardPages).Assembly;
        var files = new Dictionary<string, Page>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            var name = resource[ResourcePrefix.Length..].Replace('\\', '/');
            if (!ContentTypes.TryGetValue(Path.GetExtension(name), out var contentType)) continue;
            files[name] = new Page(Read(assembly, resource), contentType);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded resource '{resource}' cannot be read.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private sealed record Page(byte[] Content, string ContentType)
    {
        public IResult Result() => HttpResults.Bytes(Content, ContentType);
    }
}
