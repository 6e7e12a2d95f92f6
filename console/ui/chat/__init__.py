"""The Chat area: its pane, messages, reasoning, tool calls, inspector, settings.

Everything here renders :mod:`console.chat.events`; none of it talks to a server itself.
"""
