using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fennel.Dashboard.Security;

/// <summary>
/// HTTP basic authentication against <see cref="FennelDashboardOptions.Users"/>; with no users, loopback clients are
/// let in as <c>local</c> and everyone else is refused. Failed sign-ins are throttled per address and user (429 with
/// <c>Retry-After</c>).
/// </summary>
internal sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    DashboardServices dashboard)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    private static readonly object ThrottledKey = new();

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var options = dashboard.Options;
        if (options.Users.Count == 0)
        {
            return Task.FromResult(ConnectionAddress.IsLoopback(Context)
                ? Success("local", DashboardRoles.Admin)
                : AuthenticateResult.Fail("No dashboard users are configured: only loopback clients are let in."));
        }
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header) ||
            !string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        string name, password;
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) return Task.FromResult(AuthenticateResult.Fail("Malformed basic credentials."));
            (name, password) = (decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return Task.FromResult(AuthenticateResult.Fail("Malformed basic credentials."));
        }
        var address = ConnectionAddress.Of(Context);
        if (dashboard.Throttle.RetryAfter(address, name) is { } wait)
        {
            Context.Items[ThrottledKey] = wait;
            Log.LoginThrottled(Logger, name, address?.ToString());
            return Task.FromResult(AuthenticateResult.Fail("Too many failed sign-ins."));
        }
        var user = options.Users.FirstOrDefault(u => string.Equals(u.Name, name, StringComparison.Ordinal));
        if (!dashboard.Verifier.Verify(user, password))
        {
            dashboard.Throttle.Failed(address, name);
            Log.LoginFailed(Logger, name, address?.ToString());
            return Task.FromResult(AuthenticateResult.Fail("Wrong user name or password."));
        }
        return Task.FromResult(Success(user.Name, user.ReadOnly ? DashboardRoles.ReadOnly : DashboardRoles.Admin));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.TryGetValue(ThrottledKey, out var value) && value is TimeSpan wait)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        // Without users there is nothing to sign in with: no basic challenge, so browsers do not prompt.
        if (dashboard.Options.Users.Count > 0) Response.Headers.WWWAuthenticate = $"Basic realm=\"{dashboard.Options.Realm}\", charset=\"UTF-8\"";
        return Task.CompletedTask;
    }

    private AuthenticateResult Success(string name, string role)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.NameIdentifier, name), new Claim(ClaimTypes.Role, role)],
            Scheme.Name, ClaimTypes.Name, ClaimTypes.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }
}

/// <summary>
/// Checks passwords; a hash verified once is remembered (by a keyed digest of the password, never the password), so
/// PBKDF2's deliberate cost is paid per sign-in, not per request. Answers take the same time whether the user exists
/// and however long the password is, so timing tells an attacker neither.
/// </summary>
internal sealed class PasswordVerifier
{
    // A hash of a random password: checking an unknown user's password against it costs what a known user's check costs.
    private static readonly string DecoyHash = FennelDashboardPasswords.Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, byte[]> _verified = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="password"/> is <paramref name="user"/>'s; false for an unknown (null) user.</summary>
    public bool Verify([NotNullWhen(true)] FennelDashboardUser? user, string password)
    {
        if (user is null)
        {
            FennelDashboardPasswords.Verify(DecoyHash, password);
            return false;
        }
        var digest = Digest(user.Name, password);
        if (user.Password is { } plain)
        {
            // Digests of equal length, so the comparison takes the same time whatever the lengths of the passwords.
            return CryptographicOperations.FixedTimeEquals(Digest(user.Name, plain), digest);
        }
        if (_verified.TryGetValue(user.Name, out var known) && CryptographicOperations.FixedTimeEquals(known, digest)) return true;
        if (!FennelDashboardPasswords.Verify(user.PasswordHash!, password)) return false;
        _verified[user.Name] = digest;
        return true;
    }

    private byte[] Digest(string name, string password) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(name + "\0" + password));
}

/// <summary>The roles the dashboard gives its users.</summary>
internal static class DashboardRoles
{
    public const string Admin = "fennel-admin";
    public const string ReadOnly = "fennel-read-only";
}
