"""Standard JSON only: NaN, Infinity, numbers beyond a double (1e400) and lone surrogates are
refused with a 422 naming the field, before any route or schema sees them.

Python's json module (which FastAPI uses) accepts `NaN` and `Infinity`, reads `1e400` as
infinity and keeps `"\\ud800"` as a lone surrogate; none of these is valid JSON (RFC 8259) and each
used to reach a float column or a text encoder and end as a 500. This runs as an app-wide
dependency, so every JSON route gets it; forms and uploads are not JSON and are left alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from email.message import Message
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class _NonStandard:
    """Stands in for a value standard JSON cannot hold, so its place can be named."""

    def __init__(self, given: str) -> None:
        self.given = given


def _number(text: str) -> float | _NonStandard:
    value = float(text)
    return value if math.isfinite(value) else _NonStandard(text)


def loads_marked(text: str | bytes) -> Any:
    """json.loads, with every non-standard number replaced by a _NonStandard marker."""
    return json.loads(text, parse_constant=_NonStandard, parse_float=_number)


def _has_surrogate(value: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def problems(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[dict[str, Any]]:
    """Pydantic-style error dicts for every non-standard value, located by its path."""
    if isinstance(value, _NonStandard):
        yield {"type": "not_finite", "loc": ("body", *path), "msg": "must be a finite number"}
    elif isinstance(value, str):
        if _has_surrogate(value):
            yield {"type": "text_encoding", "loc": ("body", *path),
                   "msg": "contains characters that cannot be encoded"}
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key.encode("utf-8", "replace").decode() if _has_surrogate(key) else key
            if name != key:
                yield {"type": "text_encoding", "loc": ("body", *path, name),
                       "msg": "contains characters that cannot be encoded"}
            yield from problems(item, (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from problems(item, (*path, index))


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type")
    if not content_type:
        return True  # FastAPI reads a body without a content type as JSON
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json"
                                                                or subtype.endswith("+json"))


async def strict_json(request: Request) -> None:
    """Refuse (422) a JSON body holding NaN, Infinity, an overflowing number or a lone surrogate."""
    if request.method not in _WRITES or not _is_json(request):
        return
    body = await request.body()
    if not body:
        return
    try:
        parsed = loads_marked(body)
    except (ValueError, RecursionError):
        return  # not JSON at all: FastAPI answers json_invalid for routes that take a body
    try:
        found = list(problems(parsed))
    except RecursionError:  # parsed, but nested deeper than anything nrmc accepts
        found = [{"type": "json_invalid", "loc": ("body",), "msg": "nested too deeply"}]
    if found:
        raise RequestValidationError(found)
