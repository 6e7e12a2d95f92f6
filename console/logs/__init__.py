"""Server logs: read them fast, parse SGLang's lines, say what went wrong.

- ``docker_reader``: :class:`DockerLogReader` (raw multiplexed stream, follow/tail/since,
  ``close()`` from any thread; errors ``ContainerGone`` / ``EngineUnavailable``) and
  ``read_file_batches`` for saved logs.
- ``sglang``: ``parse_line`` → typed events, ``LogScanner`` for batches (floods cost one
  C-level pass), ``Phase``, ``severity``.
- ``diagnosis``: ``Diagnoser`` rules and ``diagnose_lines`` → ``Diagnosis(code, title, fix)``.
- ``stats``: ``LogStats``, what the live panel shows.
- ``buffer``: ``LogBuffer``, the capped, filterable model behind the Logs pane.

Nothing here imports Textual; the docker SDK is imported only when a reader needs a client.
"""
