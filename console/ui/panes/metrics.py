"""Metrics: serving metrics, GPUs and container events on one timeline; the benchmark."""

from console.ui.metrics.pane import MetricsPane

TITLE = "Metrics"
ORDER = 50
KEY = "6"
HELP = "/metrics charted (queue, throughput, TTFT/ITL, KV) beside the GPUs, 1 m to 24 h, with the events; b: bench"
PANE = MetricsPane
