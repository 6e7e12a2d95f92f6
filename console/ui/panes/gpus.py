"""GPUs: live telemetry per GPU and what gpt-oss can run on them."""

from console.ui.gpus.pane import GpusPane

TITLE = "GPUs"
ORDER = 10
KEY = "1"
HELP = "live NVML telemetry and charts (1 m to 24 h), host CPU/RAM, GPU processes, and the gpt-oss fit planner"
PANE = GpusPane
