"""Token estimates for admission, with no tokenizer download: about four characters a token.

The estimate only has to be close enough to pace a rate bucket; the kernel settles every charge
with the usage the provider reports.
"""

from __future__ import annotations

import json
from typing import Any


def estimate_tokens(payload: Any) -> int:
    """Approximate tokens of a prompt given as text, messages or any JSON-able structure."""
    if payload is None:
        return 0
    if isinstance(payload, str):
        text = payload
    elif isinstance(payload, bytes):
        text = payload.decode("utf-8", "replace")
    else:
        try:
            text = json.dumps(payload, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = str(payload)
    return max(1, (len(text) + 3) // 4)
