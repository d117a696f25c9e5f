// The tests share one Redis database, and some (dead letters, kombu's unacked hash) look at keys every test uses.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
