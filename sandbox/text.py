"""Trimming tool output: the head (the first error) and the tail (the summary) matter most."""

from __future__ import annotations

ERROR_CHARS = 2000  # tool output kept per failure: enough for a model, small in the store


def trim(text: str, limit: int = ERROR_CHARS) -> str:
    """Keep the head and tail of a tool's output: the first error and the summary."""
    text = text.strip()
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters cut ...]\n{text[-half:]}"
