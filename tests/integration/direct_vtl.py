"""API Gateway mapping templates rendered with airspeed-ext, and renderings replayed to moto.

airspeed-ext (the VTL engine LocalStack renders API Gateway templates with) brings the
language only; ``$input``, ``$util`` and ``$context`` are the variables API Gateway defines
("API Gateway mapping template and access logging variable reference"), implemented here:

- ``$util.escapeJavaScript``: "escapes the characters in a string using JavaScript string
  rules" (API Gateway is written in Java: Apache commons-lang's ``escapeJavaScript``, which
  escapes ``'`` as ``\\'`` as that page warns, ``/`` as ``\\/``, controls and every UTF-16 code
  unit above 0x7F as ``\\uXXXX``);
- ``$util.urlEncode``: ``java.net.URLEncoder`` (``application/x-www-form-urlencoded``, UTF-8);
- ``$input.body`` (the raw body), ``$input.json(x)`` (JSON text of a JSONPath), ``$input.path(x)``
  (the value of a JSONPath), ``$input.params(name)`` (path, then query, then header parameter);
- ``$context.requestId`` and ``$context.responseOverride.status``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import airspeed  # type: ignore[import-untyped]
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_SHORT_ESCAPES = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}
_PLAIN_ESCAPES = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}


def escape_javascript(value: object) -> str:
    """commons-lang 2 ``StringEscapeUtils.escapeJavaScript`` over UTF-16 code units."""
    text = value if isinstance(value, str) else _java_string(value)
    units = text.encode("utf-16-le", "surrogatepass")
    out = []
    for index in range(0, len(units), 2):
        code = int.from_bytes(units[index : index + 2], "little")
        char = chr(code)
        if code > 0x7F:
            out.append(f"\\u{code:04X}")
        elif char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif code < 0x20:
            out.append(f"\\u{code:04X}")
        else:
            out.append(_PLAIN_ESCAPES.get(char, char))
    return "".join(out)


def url_encode(value: object) -> str:
    """``java.net.URLEncoder.encode(value, "UTF-8")``: ``*-._`` kept, space as ``+``."""
    return urllib.parse.quote_plus(_java_string(value), safe="*-._").replace("~", "%7E")


def _java_string(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return ""
    return str(value)


def json_path(document: Any, path: str) -> Any:
    """The value at a JSONPath of the forms ``$``, ``$.a.b`` and ``$.a[0].b`` (None if absent)."""
    if path == "$":
        return document
    value = document
    for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", path.removeprefix("$")):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            return None
    return value


class Util:
    def escapeJavaScript(self, value: object) -> str:
        return escape_javascript(value)

    def urlEncode(self, value: object) -> str:
        return url_encode(value)


@dataclass
class Input:
    """``$input`` of one request (or of one integration response: the service's body)."""

    body: str
    parameters: Mapping[str, str] = field(default_factory=dict)

    def _document(self) -> Any:
        return json.loads(self.body) if self.body.strip() else {}

    def json(self, path: str) -> str:
        return json.dumps(json_path(self._document(), path), ensure_ascii=False)

    def path(self, path: str) -> Any:
        return json_path(self._document(), path)

    def params(self, name: str) -> str:
        return self.parameters.get(name, "")


@dataclass
class Rendering:
    """What a template gave: the text, and the status it set with responseOverride."""

    text: str
    status: int | None


def render(template: str, input_: Input, request_id: str = "req-1") -> Rendering:
    """Renders a mapping template as API Gateway would, for this ``$input``."""
    context: dict[str, Any] = {"requestId": request_id, "responseOverride": {}}
    text = airspeed.Template(template).merge({"input": input_, "util": Util(), "context": context})
    status = context["responseOverride"].get("status")
    return Rendering(text=text, status=int(status) if status is not None else None)


@dataclass(frozen=True)
class ServiceCall:
    """How API Gateway sends a rendering to a service (AWS integration, protocol headers)."""

    signing_name: str
    path: str
    content_type: str
    target: str | None = None


def send_signed(endpoint: str, call: ServiceCall, body: str, region: str) -> tuple[int, str]:
    """POSTs ``body`` to ``endpoint`` signed with SigV4, as API Gateway's role would."""
    headers = {"Content-Type": call.content_type}
    if call.target:
        headers["X-Amz-Target"] = call.target
    request = AWSRequest(
        method="POST", url=f"{endpoint}/{call.path}", data=body.encode(), headers=headers
    )
    SigV4Auth(Credentials("testing", "testing"), call.signing_name, region).add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(
        prepared.url, data=body.encode(), headers=dict(prepared.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
