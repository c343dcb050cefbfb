"""A proposer backed by any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama).

Endpoint trouble never raises: the step comes back as a Proposal without candidates whose
`error` says what happened ("endpoint timeout after 5s", "rate limited (429) after 2 retries",
...), with the exact prompt and whatever the model said, so the graph can record it and go on.
Retries (connection errors, 408, 409, 429, >= 500) are the SDK's, with its exponential backoff.
"""

from __future__ import annotations

import os
import time
from typing import Any

import openai

from .base import Context, Proposal
from .chat import build_messages, response_format
from .parsing import parse_response

_FORMAT_REJECTED = (400, 422)  # how servers say "I do not support this response_format"


class OpenAIProposer:
    """Asks a chat model for the next candidates; `structured` asks for a JSON schema answer.

    With `structured=False` no `response_format` is sent (the prompt still asks for JSON, and the
    parser also reads plain pipelines and LLM Compiler style answers).  A server that rejects
    `response_format` with 400/422 is asked once more without it, and never again with it.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120,
        max_retries: int = 2,
        temperature: float = 0.2,
        structured: bool = True,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.model: str | None = model
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.temperature = temperature
        self.structured = structured
        self.extra_body = dict(extra_body or {})
        self._use_format = structured  # False once the server has rejected response_format
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "sk-local",
            timeout=timeout_s,
            max_retries=max_retries,
        )

    def propose(self, ctx: Context) -> Proposal:
        messages = build_messages(ctx)
        proposal = Proposal(candidates=[], messages=messages)
        fmt = response_format(ctx.action, max(1, ctx.n)) if self._use_format else None
        start = time.monotonic()
        try:
            try:
                completion = self._create(messages, fmt)
            except openai.APIStatusError as exc:
                if fmt is None or exc.status_code not in _FORMAT_REJECTED:
                    raise
                completion = self._create(messages, None)
                self._use_format = False
        except openai.OpenAIError as exc:
            proposal.error = self._describe(exc)
            return proposal
        except Exception as exc:  # anything else from the transport is the endpoint's fault too
            proposal.error = f"malformed response: {type(exc).__name__}: {_short(str(exc))}"
            return proposal
        finally:
            proposal.latency_s = time.monotonic() - start
        return self._read(completion, ctx, proposal)

    def _create(self, messages: list[dict[str, str]], fmt: dict[str, Any] | None) -> Any:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if fmt is not None:
            kwargs["response_format"] = fmt
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        return self._client.chat.completions.create(**kwargs)

    def _read(self, completion: Any, ctx: Context, proposal: Proposal) -> Proposal:
        usage = getattr(completion, "usage", None)
        proposal.prompt_tokens = _int(getattr(usage, "prompt_tokens", None))
        proposal.completion_tokens = _int(getattr(usage, "completion_tokens", None))
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices:
            proposal.error = "malformed response: no choices"
            return proposal
        message = getattr(choices[0], "message", None)
        content = getattr(message, "content", None)
        if not isinstance(content, str):
            refusal = getattr(message, "refusal", None)
            no_content = "malformed response: no content"
            proposal.error = f"model refused: {_short(refusal)}" if refusal else no_content
            return proposal
        proposal.response = content
        parsed = parse_response(content, ctx.action, max(1, ctx.n))
        proposal.candidates = parsed.candidates
        proposal.predictions = parsed.predictions
        proposal.rationale = parsed.rationale
        if parsed.error:
            truncated = getattr(choices[0], "finish_reason", None) == "length"
            cut = " (the answer was cut off at the token limit)" if truncated else ""
            proposal.error = parsed.error + cut
        return proposal

    def _describe(self, exc: openai.OpenAIError) -> str:
        """One line for the user and the record; the SDK has already retried where it makes sense."""
        retries = f" after {self.max_retries} retries" if self.max_retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return f"endpoint timeout after {self.timeout_s:g}s{retries}"
        if isinstance(exc, openai.APIConnectionError):
            if _caused_by(exc, ConnectionRefusedError) or "refused" in str(exc.__cause__ or "").lower():
                return f"connection refused ({self._client.base_url}){retries}"
            return f"connection error: {_short(str(exc.__cause__ or exc))}{retries}"
        if isinstance(exc, openai.RateLimitError):
            return f"rate limited (429){retries}: {_short(exc.message)}"
        if isinstance(exc, openai.APIStatusError):
            again = retries if exc.status_code >= 500 or exc.status_code in (408, 409) else ""
            return f"endpoint error: HTTP {exc.status_code}{again}: {_short(exc.message)}"
        return f"malformed response: {_short(str(exc))}"


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _short(text: Any, width: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
