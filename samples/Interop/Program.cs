// The Celery interop contract in .NET: the tasks tasks.add, tasks.mul, tasks.tsum, tasks.greet, tasks.fail,
// tasks.retry_once, tasks.header and tasks.sleep, with the names, arguments, results and failures of their Python twins
// (test/Fennel.Interop.Tests/python/interop_tasks.py), so Python Celery and Fennel can serve each other's calls.
//
//   dotnet run --project samples/Interop -- worker -b redis://127.0.0.1:6379/2 --result-backend redis://127.0.0.1:6379/2 \
//       -Q interop -n interop-net@%h
//   dotnet run --project samples/Interop -- call tasks.add --args '[2, 3]' --wait -b redis://127.0.0.1:6379/2
using Fennel;
using Interop;

var builder = FennelApp.CreateBuilder(args);
var app = builder.Build();

ContractTasks.Register(app);
app.Route("tasks.*", ContractTasks.Queue);

return await app.RunAsync(args);
