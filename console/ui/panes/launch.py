"""Launch: configure SGLang from the settings declaration, run it in Docker, watch it come up."""

from console.ui.launch.pane import LaunchPane

TITLE = "Launch"
ORDER = 20
KEY = "2"
HELP = "settings form, profiles, docker run preview, launch/stop/restart with live start-up phases"
PANE = LaunchPane
