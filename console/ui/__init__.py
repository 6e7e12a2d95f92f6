"""The Textual UI. Everything here subscribes to the core; nothing in the core imports it."""
