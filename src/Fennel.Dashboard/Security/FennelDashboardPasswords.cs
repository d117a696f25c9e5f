using Microsoft.AspNetCore.Identity;

namespace Fennel.Dashboard;

/// <summary>Password hashes for <see cref="FennelDashboardUser.PasswordHash"/>: ASP.NET Core Identity's v3 format (PBKDF2).</summary>
public static class FennelDashboardPasswords
{
    private static readonly PasswordHasher<FennelDashboardUser> Hasher = new();

    /// <summary>Hashes a password for configuration.</summary>
    /// <param name="password">The password.</param>
    /// <returns>The hash, base64.</returns>
    public static string Hash(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        return Hasher.HashPassword(new FennelDashboardUser(), password);
    }

    /// <summary>Whether <paramref name="password"/> matches <paramref name="hash"/>; false for a malformed hash.</summary>
    internal static bool Verify(string hash, string password)
    {
        try
        {
            return Hasher.VerifyHashedPassword(new FennelDashboardUser(), hash, password) != PasswordVerificationResult.Failed;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
