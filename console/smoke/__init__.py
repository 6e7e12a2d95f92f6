"""The conformance smoke suite: ``runner.SmokeRunner(SmokeConfig(base_url, ...)).run()`` yields a
``CheckResult`` (pass / fail / unsupported / skip, reason, latency, details) as each check finishes;
``report`` renders them as lines, JSON or JUnit XML. The CLI twin is ``gpt-oss-console smoke``.

A failed check names its failure shape (``shapes``: the ways gpt-oss tool calling was seen to
break, each with its public source) and is replayed through the engine's raw path (``replay``,
with ``harmony`` rendering the prompt and reading the raw answer) to say model or parser."""
