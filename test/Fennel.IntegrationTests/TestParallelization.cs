// The tests start several .NET processes each; on a small machine running them side by side only makes them slow.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
