"""Regenerate tests/data/engines/<engine>-flags.json from each engine's own declaration.

The console's argv for every engine is tested against these files (tests/test_engines_argv.py),
so they must come from the engine, not from our reading of its docs:

* SGLang — its real argparse: ``ServerArgs.add_cli_args`` (sglang/srt/server_args.py).
* vLLM — its real argparse: ``make_arg_parser`` (vllm/entrypoints/common/cli_args.py), the
  parser of ``vllm serve``.
* llama.cpp — ``llama-server --help`` of the binary tests/peers/setup_llama_server.sh builds.

CI only reads the files. To regenerate (by hand, a few minutes; nothing here needs a GPU)::

    python3 -m venv /tmp/flags && /tmp/flags/bin/pip install --no-deps sglang==X vllm==Y
    /tmp/flags/bin/pip install torch==2.14.1 msgspec numpy orjson psutil pybase64 requests packaging \\
        pillow starlette pydantic pyzmq tqdm ipython aiohttp regex transformers fastapi cachetools \\
        prometheus_client openai openai-harmony cbor2 cloudpickle uvloop py-cpuinfo \\
        partial_json_parser llguidance xgrammar
    /tmp/flags/bin/python tests/data/engines/extract_flags.py sglang
    VLLM_TARGET_DEVICE=cpu /tmp/flags/bin/python tests/data/engines/extract_flags.py vllm
    python3 tests/data/engines/extract_flags.py llamacpp .cache/llama-server/bin/llama-server

(importing the parsers pulls in those packages; the list is what sglang 0.5.23 and vLLM 0.34.0
needed.) Each file records the version it came from; the engine modules pin the same one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _from_argparse(parser, engine: str, version: str, source: str) -> dict:
    flags: dict[str, dict] = {}
    positionals: list[str] = []
    for action in parser._actions:
        if not action.option_strings:
            positionals.append(action.dest)
            continue
        choices = None
        if action.choices is not None:
            choices = sorted({str(c) for c in action.choices if c is not None})
        entry = {"takes_value": action.nargs != 0, "choices": choices, "aliases": list(action.option_strings)}
        for opt in action.option_strings:
            flags[opt] = entry
    return {"engine": engine, "version": version, "source": source, "allow_abbrev": bool(parser.allow_abbrev),
            "positionals": positionals, "flags": dict(sorted(flags.items()))}


def sglang() -> dict:
    import argparse
    from importlib.metadata import version

    from sglang.srt.server_args import ServerArgs

    parser = argparse.ArgumentParser()
    ServerArgs.add_cli_args(parser)
    v = version("sglang")
    return _from_argparse(parser, "sglang", v, f"sglang {v}: sglang.srt.server_args.ServerArgs.add_cli_args")


def vllm() -> dict:
    from importlib.metadata import version

    from vllm.entrypoints.common.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = make_arg_parser(FlexibleArgumentParser())
    v = version("vllm")
    out = _from_argparse(parser, "vllm", v, f"vllm {v}: vllm.entrypoints.common.cli_args.make_arg_parser (vllm serve)")
    # --tool-call-parser and --reasoning-parser take names from registries checked after parsing.
    from vllm.reasoning import ReasoningParserManager
    from vllm.tool_parsers import ToolParserManager

    registries = {"--tool-call-parser": sorted(ToolParserManager.list_registered()),
                  "--reasoning-parser": sorted(ReasoningParserManager.list_registered())}
    for flag, names in registries.items():
        out["flags"][flag] = dict(out["flags"][flag], choices=names, choices_from="registry")
    return out


# ``-c,    --ctx-size N    size of …`` — flags and metavar in the left column.
_HELP_LINE = re.compile(r"^(-[^\s,]+(?:,\s*-[^\s,]+)*)(?:\s+(\S+))?(?:\s{2,}|$)")
_ONE_OF = re.compile(r"^\s*-\s+([\w.-]+):")


def llamacpp(binary: str) -> dict:
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60).stdout
    version_text = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    version_line = (version_text.stdout + version_text.stderr).strip().splitlines()[0]
    stamp = Path(binary).resolve().parents[1] / "built-from"
    built_from = stamp.read_text().strip() if stamp.exists() else ""
    flags: dict[str, dict] = {}
    current: dict | None = None
    listing = False  # the current flag's help said "one of:" and lists its values as "- name:" lines
    for line in help_text.splitlines():
        m = _HELP_LINE.match(line)
        if m and re.match(r"--?[A-Za-z0-9]", m.group(1)):  # not a "----- section -----" rule
            names = [n.strip() for n in m.group(1).split(",")]
            metavar = m.group(2) or ""
            if metavar.startswith("-"):  # "--jinja, --no-jinja" style pairs have no metavar
                names.append(metavar)
                metavar = ""
            choices = None
            bracket = re.fullmatch(r"[\[{]([\w.|,-]+)[\]}]", metavar)
            if bracket:
                choices = sorted(set(re.split(r"[|,]", bracket.group(1))))
            current = {"takes_value": bool(metavar), "choices": choices, "aliases": names}
            for n in names:
                flags[n] = current
            listing = "one of" in line
            continue
        one_of = _ONE_OF.match(line)
        default = re.search(r"\(default: ([\w.-]+)\)", line)
        if current is not None and listing and one_of:
            current["choices"] = sorted(set((current["choices"] or []) + [one_of.group(1)]))
        elif current is not None and listing and current["choices"] and default:
            # the listed values end with "(default: X)": X is accepted even when not listed
            current["choices"] = sorted(set(current["choices"] + [default.group(1)]))
        elif "one of" in line:
            listing = True
    return {"engine": "llamacpp", "version": built_from or version_line, "binary_version": version_line,
            "source": f"llama-server --help ({built_from or 'built here'})", "allow_abbrev": False,
            "positionals": [], "flags": dict(sorted(flags.items()))}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("sglang", "vllm", "llamacpp"):
        print(__doc__)
        return 2
    engine = argv[0]
    data = llamacpp(argv[1]) if engine == "llamacpp" else globals()[engine]()
    path = HERE / f"{engine}-flags.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"{path}: {len(data['flags'])} flags from {data['source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
