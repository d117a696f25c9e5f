// The seed's example: a `core` area and a `customers` area, customers.* tasks on their own queue.
//
//   dotnet run --project samples/Customers -- demo                       # everything in one process
//   dotnet run --project samples/Customers -- worker -Q customers -n customers.%h
//   dotnet run --project samples/Customers -- worker -Q celery
//   dotnet run --project samples/Customers -- call customers.send_welcome --args '[42]' --wait
using Customers;
using Customers.Core;
using Customers.Customers;
using Fennel;
using Microsoft.Extensions.DependencyInjection;

var builder = FennelApp.CreateBuilder(args);
builder.Services.AddSingleton<IMailer, LoggingMailer>();
builder.Services.AddSingleton<ICustomerStore, InMemoryCustomerStore>();
if (args.FirstOrDefault() == "demo") Demo.Prepare(builder, args);
var app = builder.Build();

CoreTasks.Register(app);
CustomerTasks.Register(app);
app.Route(new CustomersRouter());

return await app.RunAsync(args, Demo.Command);
