"""Benchmark prompts: random text of a chosen token length (seeded), or a JSONL dataset.

Without the model's tokenizer the random prompts are built from common short
English words, each one token in the o200k (gpt-oss) and most BPE vocabularies
when preceded by a space, so ``input_len`` words is close to ``input_len``
tokens. The server's ``usage.prompt_tokens`` gives the exact count afterwards,
and that is what the results report.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE

_WORDS = (
    "the of and to in is it for that on with as was at by be this from or are an but not have all can "
    "one had were which their said if do will each about how up out them then she many some so these "
    "would other into has more her two like him see time could no make than first been its who now "
    "people my made over did down only way find use may water long little very after words called just "
    "where most know get through back much before go good new write our used me man too any day same "
    "right look think also around another came come work three word must because does part even place "
    "well such here take why things help put years different away again off went old number great tell "
    "men say small every found still between name should home big give air line set own under read last "
    "never us left end along while might next sound below saw something thought both few those always "
    "show large often together asked house world going want school important until form food keep "
    "children feet land side without boy once animals life enough took sometimes four head above kind "
    "began almost live page got earth need far hand high year mother light parts country father let "
    "night following picture being study second eyes soon times story boys since white days ever paper "
    "hard near sentence better best across during today others however sure means knew try told young"
).split()


@dataclass(frozen=True)
class Prompt:
    messages: list[dict]
    input_len: int  # estimated prompt tokens (exact count comes from the server's usage)
    output_len: int | None = None  # per-prompt max_tokens from a dataset; None: the run's --output-len


def random_prompts(count: int, input_len: int, seed: int = 0) -> list[Prompt]:
    """``count`` prompts of about ``input_len`` tokens; the same seed gives the same prompts.

    Each prompt starts with a distinct number so that no two share a cacheable
    prefix (a shared prefix would turn the benchmark into a prefix-cache test).
    """
    rng = random.Random(seed)
    out = []
    for i in range(count):
        words = [str(i)] + [rng.choice(_WORDS) for _ in range(max(0, input_len - 1))]
        out.append(Prompt([{"role": "user", "content": " ".join(words)}], input_len))
    return out


def load_dataset(path: str | Path, count: int | None = None, seed: int = 0) -> list[Prompt]:
    """Read JSONL prompts. Each line is one of:

    * ``{"prompt": "...", "output_len": 256}`` (``output_len``/``max_tokens`` optional)
    * ``{"messages": [{"role": "user", "content": "..."}, ...]}``
    * ShareGPT: ``{"conversations": [{"from": "human", "value": "..."}, ...]}`` (first human turn)

    With ``count`` larger than the file, prompts repeat in a seeded shuffled order.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConsoleError(f"cannot read dataset {p}: {exc.strerror}", "give a JSONL file, one prompt per line",
                           exit_code=EXIT_USAGE) from None
    prompts: list[Prompt] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise ConsoleError(f"{p}:{n}: not JSON", "each line must be one JSON object", exit_code=EXIT_USAGE) from None
        prompts.append(_row_to_prompt(row, f"{p}:{n}"))
    if not prompts:
        raise ConsoleError(f"{p} holds no prompts", "give a JSONL file, one prompt per line", exit_code=EXIT_USAGE)
    if count is None:
        return prompts
    rng = random.Random(seed)
    order: list[Prompt] = []
    while len(order) < count:
        batch = prompts[:]
        rng.shuffle(batch)
        order.extend(batch)
    return order[:count]


def _row_to_prompt(row: dict, where: str) -> Prompt:
    if not isinstance(row, dict):
        raise ConsoleError(f"{where}: expected a JSON object", 'e.g. {"prompt": "...", "output_len": 256}',
                           exit_code=EXIT_USAGE)
    out_len = row.get("output_len") or row.get("max_tokens")
    if out_len is not None and (isinstance(out_len, bool) or not isinstance(out_len, int) or out_len < 0):
        raise ConsoleError(f"{where}: output_len {out_len!r} is not a token count",
                           "give a whole number of tokens, e.g. \"output_len\": 256, or leave it out", exit_code=EXIT_USAGE)
    if isinstance(row.get("messages"), list):
        messages = row["messages"]
        if not all(isinstance(m, dict) for m in messages):
            raise ConsoleError(f"{where}: each of 'messages' must be an object",
                               'e.g. {"role": "user", "content": "..."}', exit_code=EXIT_USAGE)
    elif isinstance(row.get("prompt"), str):
        messages = [{"role": "user", "content": row["prompt"]}]
    elif isinstance(row.get("conversations"), list):
        human = [c.get("value", "") for c in row["conversations"]
                 if isinstance(c, dict) and c.get("from") in ("human", "user")]
        if not human:
            raise ConsoleError(f"{where}: no human turn in conversations",
                               'ShareGPT rows need {"from": "human", "value": "..."}', exit_code=EXIT_USAGE)
        messages = [{"role": "user", "content": human[0]}]
    else:
        raise ConsoleError(f"{where}: needs 'prompt', 'messages' or 'conversations'",
                           'e.g. {"prompt": "...", "output_len": 256}', exit_code=EXIT_USAGE)
    text = " ".join(str(m.get("content") or "") for m in messages)
    return Prompt(messages, input_len=len(text.split()), output_len=out_len or None)
