"""The Compare view: the engine bake-off (``console.compare``) as a screen, opened from the
Smoke area (Ctrl+B) and the command palette ("Smoke: Compare engines")."""
