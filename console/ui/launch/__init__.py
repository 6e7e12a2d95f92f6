"""The Launch area's widgets: settings form, phase tracker and the pane that ties them to the runtime."""
