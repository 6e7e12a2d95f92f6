"""Widgets of the chat area: messages, reasoning, tool calls, inspector, settings, smoke view.

Everything here renders :mod:`console.chat.events`; none of it talks to a server itself.
"""
