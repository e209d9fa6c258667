"""Code formats of the units, in one place (issue 11 item 5): what the edit validation
(editing/validation.py), the file import (io/kinds.py) and ``jurisgrid load`` (onboard/) check.

A format is a regular expression the whole code must match, in which ``{county}``,
``{township}``, ``{station}`` and ``{community}`` stand for the parent's code — so a code is
always under its parent. The formats are per deployment (``EditSettings.edit_<kind>_code_format``,
env ``JURISGRID_CODE_FORMAT_<KIND>`` or ``JURISGRID_EDIT_<KIND>_CODE_FORMAT``); the defaults
are the national 区划 scheme for counties (6 digits), townships (+3: 9) and communities (+3:
12), the 15-digit grid code (+3), and the demo's station / zone / person codes. A national
区划 code must also start with a real province (省级) code.

Pure: no database, no settings lookup (the caller passes its formats).
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDERS = ("county", "township", "station", "community")
NATIONAL_KINDS = ("county", "township", "community")
# GB/T 2260 province-level codes (the first two digits of every 区划 code)
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82"})
DEFAULTS = {
    "county": r"\d{6}",
    "township": r"{county}\d{3}",
    "community": r"{township}\d{3}",
    "grid": r"{community}\d{3}",
    "station": r"{county}PS\d{2}",
    "zone": r"{station}Z\d{2}",
    "person": r"P\d{6}",
    "sector": "",
}


def formats(settings: Any) -> dict[str, str]:
    """The deployment's formats by kind, from an ``EditSettings``."""
    return {kind: getattr(settings, f"edit_{kind}_code_format", default)
            for kind, default in DEFAULTS.items()}


def pattern(template: str, **parents: str | None) -> re.Pattern[str] | None:
    """The format with the parents' codes put in (escaped); None: not checked (an empty
    format, or a parent that is not known — the caller reports the parent)."""
    if not template:
        return None
    out = template
    for name in PLACEHOLDERS:
        if "{" + name + "}" in out:
            value = parents.get(name)
            if value is None:
                return None
            out = out.replace("{" + name + "}", re.escape(value))
    return re.compile(out)


def problem(kind: str, code: Any, template: str, **parents: str | None) -> str | None:
    """Why ``code`` is not a valid ``kind`` code under ``parents``, or None."""
    if not isinstance(code, str) or not code.strip():
        return f"a {kind} code must not be empty"
    p = pattern(template, **parents)
    if p is not None and not p.fullmatch(code):
        shown = template
        for name, value in parents.items():
            if value is not None:
                shown = shown.replace("{" + name + "}", value)
        under = ", ".join(f"{k} {v}" for k, v in parents.items() if v is not None)
        return (f"{kind} code {code!r} does not have the format {shown}"
                + (f" (it must be under {under})" if under else ""))
    if kind in NATIONAL_KINDS and template == DEFAULTS[kind] and code[:2] not in PROVINCES:
        return f"{kind} code {code!r}: {code[:2]} is not a province code (区划 codes start with one)"
    return None


# the parent each placeholder stands for, by kind (a zone's {station}, a grid's {community}, …)
PARENT = {"township": "county", "community": "township", "grid": "community", "station": "county",
          "zone": "station", "sector": "county"}
# national 区划 codes, whatever the deployment's formats: the database holds townships and
# communities to them (migration 0001's CHECKs)
NATIONAL = {"county": re.compile(r"^[0-9]{6}$"), "township": re.compile(r"^[0-9]{9}$"),
            "community": re.compile(r"^[0-9]{12}$")}


def expanded(kind: str, fmts: dict[str, str], _depth: int = 0) -> str:
    """The format of ``kind`` with every placeholder replaced by its parent's own (expanded)
    format: what any ``kind`` code must look like, whatever its parent. An empty format is
    "anything" (``.+``)."""
    t = fmts.get(kind) or ""
    if not t or _depth > len(PLACEHOLDERS):
        return ".+"
    for name in PLACEHOLDERS:
        if "{" + name + "}" in t:
            t = t.replace("{" + name + "}", f"(?:{expanded(name, fmts, _depth + 1)})")
    return t


def parent_of(kind: str, code: str | None, fmts: dict[str, str]) -> str | None:
    """The parent code a ``kind`` code carries under the deployment's formats — a grid's
    community from ``{community}\\d{3}`` — or None when the code does not have the format or
    the format does not embed its parent."""
    t = fmts.get(kind) or ""
    names = [n for n in PLACEHOLDERS if "{" + n + "}" in t]
    if code is None or len(names) != 1:
        return None
    rx = t.replace("{" + names[0] + "}", f"(?P<parent>{expanded(names[0], fmts)})")
    try:
        m = re.fullmatch(rx, code)
    except re.error:
        return None
    return m.group("parent") if m else None
