// The commands write to Console.Out and Console.Error, which CommandLine swaps for the length of a command: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
