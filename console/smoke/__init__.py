"""The conformance smoke suite: ``runner.SmokeRunner(SmokeConfig(base_url, ...)).run()`` yields a
``CheckResult`` (pass / fail / unsupported / skip, reason, latency, details) as each check finishes;
``report`` renders them as lines, JSON or JUnit XML. The CLI twin is ``gpt-oss-console smoke``."""
