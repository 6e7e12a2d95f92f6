#!/bin/sh
# Hands over to the Python entrypoint, which validates the env, prints a summary and
# execs SGLang (so SGLang becomes PID 1 and gets docker stop's SIGTERM).
# sys.path is extended in-process so SGLang's own environment stays untouched.
exec python3 -c 'import sys, runpy; sys.path.insert(0, "/opt/gpt-oss-console"); runpy.run_module("console.image.entrypoint", run_name="__main__", alter_sys=True)' "$@"
