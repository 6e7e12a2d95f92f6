"""Latency/throughput benchmark measured the way ``sglang.bench_serving`` measures.

``run.run_bench(BenchConfig)`` → result dict (``schema.RESULT_SCHEMA``);
``toolload.run_tool_load`` → failure rate of tool-call rounds under concurrency;
``report.format_result`` → the text table beside the published figures.
"""
