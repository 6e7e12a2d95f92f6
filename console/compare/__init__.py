"""The engine bake-off: the same conformance suite and bench on every endpoint, side by side.

- ``endpoints``: ``--endpoint NAME=URL`` and a key per endpoint (file or environment);
- ``options``: every compare option, declared once for the CLI and the TUI screen;
- ``stats``: success rates with Wilson intervals, and when an interval is tight enough;
- ``run.CompareRunner``: runs the smoke checks (repeated, endpoints interleaved), the
  multi-turn cache, streamed-vs-whole and cold-vs-cached checks, and the bench levels;
- ``report``: the seed's comparison table with measured cells, as Markdown, text and JSON.

No Textual here; the CLI twin is ``gpt-oss-console compare``, the TUI view ``console.ui.compare``.
"""
