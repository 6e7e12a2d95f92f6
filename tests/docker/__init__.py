"""Stand-in Docker images for tests and benchmarks (see ``images.py``)."""
