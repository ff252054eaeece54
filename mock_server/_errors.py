"""The one exception the emulator raises to answer with a protocol error envelope."""

from __future__ import annotations

import typing

from nemo_contract.protocol import MESSAGES, Code

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """Answer the current request with the envelope ``{"code": code, "message": message, "data": data}``.

    The HTTP status follows the code and the ``status_mode`` knob; ``headers`` are added to the response
    (``Retry-After`` on 429, for instance).
    """

    def __init__(
        self,
        code: Code,
        message: str | None = None,
        *,
        data: typing.Any = None,
        headers: typing.Mapping[str, str] | None = None,
    ) -> None:
        self.code = Code(code)
        self.message = message or MESSAGES[self.code]
        self.data = data
        self.headers = dict(headers or {})
        super().__init__(f"{int(self.code)}: {self.message}")
