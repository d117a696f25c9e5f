using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Fennel.IntegrationTests;

/// <summary>
/// A client of a dashboard running as its own process (<c>dashboard --port 0 --basic-auth USER:PASSWORD</c>, which prints
/// <c>Dashboard on http://127.0.0.1:PORT — ...</c>): signed in with basic authentication, with a cookie jar and the
/// anti-forgery token for actions, as a script or the browser would use the JSON API. Shared as source with
/// Fennel.Interop.Tests.
/// </summary>
internal sealed partial class DashboardApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly ChildProcess _process;
    private bool _hasToken;

    private DashboardApiClient(ChildProcess process, Uri address, string user, string password)
    {
        _process = process;
        Address = address;
        _http = new HttpClient(new HttpClientHandler { UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromSeconds(30),
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
    }

    /// <summary>The dashboard's root (its API is under <c>api/</c>).</summary>
    public Uri Address { get; }

    /// <summary>Waits for <paramref name="dashboard"/> to print where it listens, then signs in as <paramref name="user"/>.</summary>
    public static async Task<DashboardApiClient> ConnectAsync(ChildProcess dashboard, string user, string password, TimeSpan timeout)
    {
        Match? listening = null;
        await Eventually.HoldsAsync(() => (listening = ListeningLine().Match(dashboard.Stdout)).Success || dashboard.HasExited,
            () => $"the dashboard to say where it listens.\n{dashboard.Describe()}", timeout);
        if (!listening!.Success) throw new InvalidOperationException($"The dashboard exited before it listened.\n{dashboard.Describe()}");
        return new DashboardApiClient(dashboard, new Uri(listening.Groups["url"].Value.TrimEnd('/') + "/"), user, password);
    }

    /// <summary>GET <paramref name="path"/> (relative to the root), which must succeed.</summary>
    public async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {text}\n{_process.Describe()}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>GET api/workers: every worker the dashboard knows.</summary>
    public async Task<IReadOnlyList<JsonObject>> WorkersAsync() =>
        [.. (await GetJsonAsync("api/workers"))["workers"]!.AsArray().OfType<JsonObject>()];

    /// <summary>The worker named <paramref name="node"/> in GET api/workers, or null.</summary>
    public async Task<JsonObject?> WorkerAsync(string node) =>
        (await WorkersAsync()).FirstOrDefault(w => (string?)w["node"] == node);

    /// <summary>GET api/tasks/{id}'s <c>task</c>, or null while the history does not hold it (404).</summary>
    public async Task<JsonObject?> TaskAsync(string id)
    {
        using var response = await _http.GetAsync(new Uri("api/tasks/" + Uri.EscapeDataString(id), UriKind.Relative));
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET api/tasks/{id}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["task"]!.AsObject();
    }

    /// <summary>
    /// POST api/workers/{action} with <paramref name="body"/> (<c>{"nodes": [...]}</c> or <c>{"all": true}</c>), with the
    /// anti-forgery token of GET api/csrf; returns the per-node results. Anything but 200 fails.
    /// </summary>
    public async Task<IReadOnlyList<JsonObject>> PostWorkerActionAsync(string action, object body)
    {
        if (!_hasToken)
        {
            var token = await GetJsonAsync("api/csrf");
            _http.DefaultRequestHeaders.Add((string)token["header_name"]!, (string)token["token"]!);
            _hasToken = true;
        }
        using var response = await _http.PostAsJsonAsync(new Uri("api/workers/" + action, UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"POST api/workers/{action}: {(int)response.StatusCode} {text}");
        return [.. JsonNode.Parse(text)!["results"]!.AsArray().OfType<JsonObject>()];
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex(@"Dashboard on (?<url>https?://[^\s,]+)")]
    private static partial Regex ListeningLine();
}
