using Microsoft.Playwright;

namespace Fennel.Dashboard.Tests.Browser;

/// <summary>
/// One headless Chromium per test class: Debian's, at <c>FENNEL_TEST_CHROMIUM</c> (default <c>/usr/bin/chromium</c>), which
/// scripts/test.sh installs. Playwright downloads nothing.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string DefaultChromium = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not started.");

    /// <summary>Where screenshots go: <c>FENNEL_TEST_ARTIFACTS</c>, else <c>artifacts/</c> next to the test assembly.</summary>
    public static string Artifacts { get; } = Environment.GetEnvironmentVariable("FENNEL_TEST_ARTIFACTS") is { Length: > 0 } folder
        ? Path.GetFullPath(folder)
        : Path.Combine(AppContext.BaseDirectory, "artifacts");

    public async Task InitializeAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("FENNEL_TEST_CHROMIUM") is { Length: > 0 } path ? path : DefaultChromium;
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException(
                $"The browser tests need Chromium at {chromium} (FENNEL_TEST_CHROMIUM, default {DefaultChromium}), and it is not there. " +
                "Install Debian's (apt-get install chromium), or run bash scripts/test.sh, which installs it.");
        }
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            Timeout = 60_000,
        });
        Directory.CreateDirectory(Artifacts);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
