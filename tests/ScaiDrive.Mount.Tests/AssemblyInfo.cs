using Xunit;

// Real mounts share the machine's two cores and the kernel's FUSE connection table: one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
