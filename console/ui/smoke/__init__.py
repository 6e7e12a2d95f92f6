"""The Smoke area: the conformance smoke suite against the current endpoint."""
