"""Server logs: read them fast, follow them through anything, parse them once, say what went wrong.

- ``events``: the engine-neutral events (``Phase``, ``Capacity``, ``Failure``, ``Diagnosis`` …).
- ``scanner``: the ``Scanner`` seam, the engine label, ``diagnoses_of``. The scanners live with
  their engines (``console.engines.follow.scanner_for``, SGLang's in console/engines/sglang): every
  follower is handed one, since the engines depend on this package and not the other way round.
- ``diagnosis``: ``Diagnoser`` rules (line → ``Diagnosis(code, title, fix)``), ``diagnose_exit``.
- ``docker_reader``: ``DockerLogReader`` (one raw multiplexed stream, follow/tail/since/until,
  ``close()`` from any thread; errors ``ContainerGone`` / ``EngineUnavailable``), saved files.
- ``follow``: ``LogFollower`` — resume, backoff (``RETRY``), exactly once, run markers — and
  the items it publishes (``LogChunk``, ``RunStarted``, ``Retrying``, ``Resumed``, ``Ended``).
- ``feed``: ``LogFeed`` (a follower in a thread, fanned out, with history) and ``LogHub``.
- ``resume``, ``docker_time``: finding our place after a cut; Docker's timestamps.
- ``stats``: ``LogStats``, what the live panel shows; ``buffer``: ``LogBuffer``, the capped,
  filterable model behind the Logs view; ``severity``: error/warning/info by a line's words.

Nothing here imports Textual; the docker SDK is imported only through the runtime's engine.
"""
