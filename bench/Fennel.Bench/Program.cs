// Fennel's benchmark: Fennel and a real Celery 5 worker side by side on one redis-server (docs/benchmarks.md).
//
//   bash bench/run.sh                                              # Release build, then the whole run; report on stdout
//   dotnet run -c Release --project bench/Fennel.Bench -- run --help
//
// The same program is the Fennel bench worker that the run starts as a child process, like a real deployment:
//   Fennel.Bench worker -b redis://127.0.0.1:PORT/0 --result-backend redis://127.0.0.1:PORT/0 -c 8 -l warning
using Fennel;
using Fennel.Bench;

var (app, _) = BenchApp.Build(args);
return await app.RunAsync(args, RunCommand.Spec, Fennel.Bench.Raw.RawConsumeCommand.Spec, Fennel.Bench.Dashboard.DashboardIngestCommand.Spec,
    Fennel.Bench.Dashboard.DashboardIngestPartsCommand.Spec);
