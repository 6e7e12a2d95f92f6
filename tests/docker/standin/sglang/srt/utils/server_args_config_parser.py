"""Stand-in for SGLang's ``--config FILE.yaml`` reader (stdlib only: no PyYAML in the test image).

Lives where SGLang ≥ 0.5.2 keeps its reader (sglang/srt/utils/server_args_config_parser.py),
which is how the image's entrypoint tells whether SGLang takes ``--config``. Like SGLang's:
one file, it must end in .yaml/.yml and exist, its options go before the command line's (so
the command line wins). It reads the flat ``name: value`` mappings the console writes (a value
JSON-quoted, or plain); anything else is refused, as SGLang refuses a file it cannot read.
"""

from __future__ import annotations

import json
import os


def merge_config_with_args(argv: list[str]) -> list[str]:
    where = [i for i, a in enumerate(argv) if a == "--config"]
    if not where:
        return argv
    if len(where) > 1:
        raise ValueError("Multiple config files specified! Only one allowed.")
    i = where[0]
    if i == len(argv) - 1:
        raise ValueError("No config file specified after --config flag!")
    path = argv[i + 1]
    if os.path.splitext(path)[1].lower() not in (".yaml", ".yml"):
        raise ValueError(f"Config file must be YAML format, got: {os.path.splitext(path)[1]}")
    if not os.path.exists(path):
        raise ValueError(f"Config file not found: {path}")
    options: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, raw = line.partition(":")
            if not sep:
                raise ValueError(f"{path}:{n}: not a 'name: value' line")
            raw = raw.strip()
            value = json.loads(raw) if raw.startswith('"') else raw
            if value is True or raw == "true":
                options.append(f"--{name.strip()}")
            else:
                options += [f"--{name.strip()}", str(value)]
    return options + argv[:i] + argv[i + 2:]
