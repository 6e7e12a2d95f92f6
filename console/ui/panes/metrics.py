"""Metrics: serving metrics, GPUs and container events on one timeline; the benchmark."""

from console.ui.metrics.pane import MetricsPane

TITLE = "Metrics"
ORDER = 50
KEY = "6"
HELP = "/metrics (queue, KV, throughput, latency quantiles) beside VRAM and container events; b: bench"
PANE = MetricsPane
