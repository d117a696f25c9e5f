using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Fennel.Dashboard.Tests.Browser;

/// <summary>
/// A fresh browser context signed in with basic authentication (the dashboard's "log in"), one page, and what the page
/// reported: uncaught errors and Content-Security-Policy violations fail <see cref="AssertNoPageErrors"/>.
/// </summary>
internal sealed class BrowserSession : IAsyncDisposable
{
    private readonly IBrowserContext _context;

    private readonly ConcurrentQueue<string> _errors = new();

    private BrowserSession(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.PageError += (_, error) => _errors.Enqueue("page error: " + error);
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && message.Text.Contains("Content Security Policy", StringComparison.Ordinal)) _errors.Enqueue("CSP: " + message.Text);
        };
    }

    public IPage Page { get; }

    public static async Task<BrowserSession> OpenAsync(BrowserFixture browser, DashboardHost host, string user, string password)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            HttpCredentials = new HttpCredentials { Username = user, Password = password },
            ViewportSize = new ViewportSize { Width = 1280, Height = 860 },
            BaseURL = host.Address.ToString(),
        });
        context.SetDefaultTimeout(30_000);
        context.SetDefaultNavigationTimeout(30_000);
        return new BrowserSession(context, await context.NewPageAsync());
    }

    /// <summary>Saves the page to <see cref="BrowserFixture.Artifacts"/>; returns the file.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var file = Path.Combine(BrowserFixture.Artifacts, name);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        return file;
    }

    public void AssertNoPageErrors() => Assert.True(_errors.IsEmpty, "The page reported: " + string.Join(Environment.NewLine, _errors));

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
