// The app the integration tests run as separate processes: workers, producers and the CLI, all on one SQLite file.
//
//   dotnet Fennel.TestApp.dll worker -b sqlite:////tmp/x.db -Q customers -n customers.%h
//   dotnet Fennel.TestApp.dll produce -b sqlite:////tmp/x.db --count 2000
using Fennel;
using Fennel.TestApp;

var app = FennelApp.CreateBuilder(args).Build();
TestTasks.Register(app);
app.Route("customers.*", "customers");
return await app.RunAsync(args, Produce.Command);
