"""Smoke results as a human table line, JSON, or JUnit XML (for CI)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from console.settings.mask import scrub
from console.smoke.runner import CHECKS, FAIL, PASS, SKIP, UNSUPPORTED, CheckResult, summarize

MARK = {PASS: "PASS", FAIL: "FAIL", UNSUPPORTED: "UNSUP", SKIP: "SKIP"}


def line(r: CheckResult) -> str:
    return f"{MARK.get(r.status, r.status.upper()):<6}{r.name:<21}{_latency(r.latency_s):>9}  {scrub(r.reason)}"


def replay_line(r: CheckResult) -> str | None:
    """The raw replay's verdict under a failed check: "model or parser?" in one line."""
    v = (r.details or {}).get("replay")
    if not v:
        return None
    where = f" via {v['engine']} {v['route']}" if v.get("route") else ""
    return f"      ↳ raw replay{where}: {v['verdict']} — {v['why']}"


def _latency(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def summary_line(results: list[CheckResult]) -> str:
    c = summarize(results)
    return f"{c[PASS]} passed, {c[FAIL]} failed, {c[UNSUPPORTED]} unsupported, {c[SKIP]} skipped"


def to_json(results: list[CheckResult], *, base_url: str, model: str | None, exit_code: int) -> dict[str, Any]:
    return {"base_url": base_url, "model": model, "exit_code": exit_code, "summary": summarize(results),
            "results": [{k: v for k, v in r.to_dict().items() if k != "details"} | {"details": _clean(r.details)}
                        for r in results]}


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k != "request"}


def write_junit(results: list[CheckResult], path: str | os.PathLike, *, base_url: str, model: str | None) -> Path:
    c = summarize(results)
    suite = ET.Element("testsuite", name="gpt-oss-console smoke", tests=str(len(results)), failures=str(c[FAIL]),
                       errors="0", skipped=str(c[UNSUPPORTED] + c[SKIP]),
                       time=f"{sum(r.latency_s for r in results):.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="base_url", value=base_url)
    ET.SubElement(props, "property", name="model", value=model or "")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="smoke", name=r.name, time=f"{r.latency_s:.3f}")
        reason = scrub(r.reason)  # a server's answer can quote what it was sent
        if r.status == FAIL:
            ET.SubElement(case, "failure", message=reason, type="fail").text = scrub("\n".join(
                [CHECKS.get(r.name, ""), r.reason, *map(str, r.details.get("findings", [])),
                 *(f"shape: {h['title']} ({h['source']})" for h in r.details.get("shapes", [])),
                 *([replay_line(r).strip()] if replay_line(r) else [])]))
        elif r.status in (UNSUPPORTED, SKIP):
            ET.SubElement(case, "skipped", message=f"{r.status}: {reason}")
        ET.SubElement(case, "system-out").text = reason
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(p, encoding="utf-8", xml_declaration=True)
    return p
