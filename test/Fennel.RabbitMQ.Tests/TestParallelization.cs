// The tests share one RabbitMQ vhost, and some (dead letters) look at queues every test uses.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
