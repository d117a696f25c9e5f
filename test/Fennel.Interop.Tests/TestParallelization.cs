// Every test starts a .NET worker, a Celery worker or both, on one shared Redis database: on a small machine running
// them side by side would only make them slow, and they would flush each other's database.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
