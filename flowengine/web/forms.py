"""Form bodies as text, with Turkish letters intact however the client encoded them."""

from __future__ import annotations

from fastapi import Request

MAX_FORM_FIELDS = 60


def repair_raw_utf8(text: str) -> str:
    """Undo Starlette reading raw (not percent-encoded) UTF-8 form bytes as Latin-1.

    Browsers percent-encode form bodies, but scripts and some civic apps post
    ``açıklama=Çukur`` raw; Starlette decodes those bytes as Latin-1 ("Ã\x87ukur").
    Text that is valid UTF-8 once re-encoded as Latin-1 is read again as UTF-8;
    genuine Latin-1 text never is (it would need C1 control characters).
    """
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


async def form_values(request: Request) -> dict[str, str]:
    """The posted form's text fields (files are not taken here)."""
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    return {repair_raw_utf8(k): repair_raw_utf8(v) for k, v in form.items() if isinstance(v, str)}
