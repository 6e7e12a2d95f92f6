"""Fleet: several GPU hosts behind SGLang's router — hosts × GPUs × workers, up, drain, down."""

from console.ui.fleet.pane import FleetPane

TITLE = "Fleet"
ORDER = 70
KEY = "7"
HELP = "hosts × GPUs × workers behind the router; u up, d drain, x down, l logs, p plan, e chat via router"
PANE = FleetPane
