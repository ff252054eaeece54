"""Quoted text is masked in place, so a title is never a keyword."""

from __future__ import annotations

from nemo_contract._text import mask_quotes

API = "https://api.example.test"


def test_quoted_text_is_masked_in_place() -> None:
    text = "add \"Export Ready\", “导出”, 'Open Road' and 「拖拽」 but not you're or users' files"
    masked = mask_quotes(text)
    assert len(masked) == len(text)
    for word in ("Export", "导出", "Open", "拖拽"):
        assert word not in masked
    assert "you're" in masked and "users' files" in masked
