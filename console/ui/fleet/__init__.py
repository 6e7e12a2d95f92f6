"""The Fleet area: hosts × GPUs × workers, the router, and up / drain / down (core: console.fleet)."""
