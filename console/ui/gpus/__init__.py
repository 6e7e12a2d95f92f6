"""The GPUs area: live telemetry from ``console.gpu`` and the fit planner's matrix."""
