using Fennel;
using Fennel.Tasks;

namespace Customers.Customers;

/// <summary>The <c>customers</c> area. The router sends these to the <c>customers</c> queue.</summary>
public static class CustomerTasks
{
    public static void Register(FennelApp app)
    {
        app.Task<int, string>("customers.send_welcome", async (int customerId, IMailer mailer, CancellationToken ct) =>
        {
            var address = $"customer{customerId}@example.com";
            await mailer.SendAsync(address, "Welcome!", ct);
            return $"welcome sent to {address}";
        });

        app.Task<int, int, int>("customers.update_score", (int customerId, int points, ICustomerStore store) =>
            store.AddPoints(customerId, points));

        // Talks to a flaky CRM: the first attempt fails, the retry (same id, retries + 1) succeeds.
        app.Task<int, string>("customers.sync_crm", (int customerId, TaskContext context) =>
        {
            if (context.Retries == 0)
            {
                throw context.Retry(new TimeoutException($"CRM did not answer for customer {customerId}"), countdown: TimeSpan.FromMilliseconds(200));
            }
            return $"customer {customerId} synced after {context.Retries} retr{(context.Retries == 1 ? "y" : "ies")}";
        }, new TaskOptions { MaxRetries = 3 });
    }
}
