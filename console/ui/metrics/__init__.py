"""The Metrics area: serving metrics and GPUs on one timeline, and the bench screen."""
