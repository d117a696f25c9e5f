namespace Fennel.Dashboard;

/// <summary>
/// One dashboard account. Give either <see cref="Password"/> (from the command line) or <see cref="PasswordHash"/>
/// (from configuration: ASP.NET Core Identity's PBKDF2 format, as
/// <see cref="FennelDashboardPasswords.Hash"/> writes it).
/// </summary>
public sealed class FennelDashboardUser
{
    /// <summary>The user name (no <c>:</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>The password in plain text. <value>Default: null.</value></summary>
    public string? Password { get; set; }

    /// <summary>The password as an ASP.NET Core Identity v3 hash (PBKDF2, base64). <value>Default: null.</value></summary>
    public string? PasswordHash { get; set; }

    /// <summary>A read-only user sees everything and may not act (control actions and revoke answer 403). <value>Default: false.</value></summary>
    public bool ReadOnly { get; set; }

    /// <summary>Parses <c>user:password</c> as given on the command line.</summary>
    /// <param name="credentials">The name and the password, joined by the first <c>:</c>.</param>
    /// <param name="readOnly">Whether the user may only look.</param>
    /// <exception cref="FennelConfigurationException">There is no <c>:</c>, or the name or password is empty.</exception>
    public static FennelDashboardUser Parse(string credentials, bool readOnly = false)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == credentials.Length - 1)
        {
            throw new FennelConfigurationException("Dashboard credentials must be 'user:password', both non-empty.");
        }
        return new FennelDashboardUser { Name = credentials[..colon], Password = credentials[(colon + 1)..], ReadOnly = readOnly };
    }
}
