using Fennel.Dashboard;
using Fennel.Dashboard.Security;

namespace Fennel.Dashboard.Tests.Security;

public sealed class PasswordVerifierTests
{
    [Fact]
    public void Plain_and_hashed_passwords_verify_and_nothing_else_does()
    {
        var verifier = new PasswordVerifier();
        var plain = FennelDashboardUser.Parse("ops:s3cret");
        var hashed = new FennelDashboardUser { Name = "admin", PasswordHash = FennelDashboardPasswords.Hash("longer-secret") };

        Assert.True(verifier.Verify(plain, "s3cret"));
        Assert.False(verifier.Verify(plain, "s3cre"));
        Assert.False(verifier.Verify(plain, "s3cret-and-more"));
        Assert.True(verifier.Verify(hashed, "longer-secret"));
        Assert.True(verifier.Verify(hashed, "longer-secret")); // the remembered digest
        Assert.False(verifier.Verify(hashed, "s3cret"));
    }

    [Fact]
    public void An_unknown_user_is_refused_after_the_same_work_as_a_known_one()
    {
        // The decoy check runs PBKDF2 like a real one; what matters here is that it refuses and never throws.
        Assert.False(new PasswordVerifier().Verify(null, "anything"));
    }
}
