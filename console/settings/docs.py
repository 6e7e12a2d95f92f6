"""The settings table of docker/README.md, rendered from the declaration.

The READMEs' generated sections (this table among them) are written and checked by one
generator: ``python -m tests.readme_sections --write`` (``--check``).
"""

from __future__ import annotations

from .spec import GROUPS, SETTINGS, Setting


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _names(s: Setting) -> str:
    names = [f"`{s.env}`"] + [f"`{a}`" for a in s.aliases]
    if s.file_env:
        names.append(f"`{s.file_env}`")
    return "<br>".join(names)


def markdown_table(*, include_runtime: bool = False) -> str:
    """One table per group. Container settings (used by the console, not the image) are optional."""
    parts: list[str] = []
    for group in GROUPS:
        rows = [s for s in SETTINGS if s.group == group and (include_runtime or not s.runtime)]
        if not rows:
            continue
        parts.append(f"**{group}**\n")
        parts.append("| Env var | SGLang flag | Default | Allowed | What it does |")
        parts.append("|---|---|---|---|---|")
        for s in rows:
            flag = f"`{s.flag}`" if s.flag else ("(passed on as is)" if s.kind == "args" else "—")
            secret = " **Secret**: never logged." if s.secret else ""
            parts.append(
                f"| {_names(s)} | {flag} | {_cell(s.default_text())} | {_cell(s.allowed_text()) or '—'} "
                f"| {_cell(s.help)}{secret} |"
            )
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
