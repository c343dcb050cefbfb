"""OpenAIProposer through the real SDK against a scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from optloop.agent.proposers.base import Attempt, Context, Proposal, Proposer, Turn
from optloop.agent.proposers.openai_proposer import OpenAIProposer
from optloop.sandbox import Candidate, Objective

try:
    from openai_server import DROP, Raw, ScriptedServer, Sleep, server_factory
except ImportError:  # tests/ imported as a package
    from tests.openai_server import DROP, Raw, ScriptedServer, Sleep, server_factory

pytestmark = pytest.mark.llm

IR = """define i32 @main() {
entry:
  %a = alloca i32, align 4
  store i32 7, ptr %a, align 4
  %v = load i32, ptr %a, align 4
  ret i32 %v
}
"""

GOOD = json.dumps({"passes": "function(mem2reg,instcombine)", "predicted_value": 1, "rationale": "promote"})


@pytest.fixture
def server() -> Iterator[Callable[..., ScriptedServer]]:
    yield from server_factory()


def context(turns: list[Turn] | None = None, action: str = "passes", n: int = 1) -> Context:
    return Context(
        objective=Objective.INSTCOUNT, action=action, ir=IR, ir_instruction_count=4,  # type: ignore[arg-type]
        ir_summary={}, baseline_pipeline="default<Oz>", baseline_value=1.0, best=None, history=[],
        turns=turns or [], step=len(turns or []), evaluations_left=10, n=n,
    )


def proposer(srv: ScriptedServer, **kwargs: Any) -> OpenAIProposer:
    kwargs.setdefault("timeout_s", 10)
    return OpenAIProposer("scripted-model", base_url=srv.base_url, api_key="test-key", **kwargs)


def assert_failed(p: Proposal, *words: str) -> None:
    assert p.candidates == []
    assert p.error and all(w in p.error for w in words), p.error
    assert p.messages and p.messages[0]["role"] == "system"


def test_good_structured_answer(server: Callable[..., ScriptedServer]) -> None:
    srv = server([GOOD])
    prop: Proposer = proposer(srv)  # satisfies the protocol (checked by mypy)
    assert (prop.name, prop.model) == ("openai", "scripted-model")
    p = prop.propose(context())
    assert p.error is None
    assert p.candidates == [Candidate.passes("function(mem2reg,instcombine)")]
    assert p.predictions == [1.0]
    assert p.rationale == "promote"
    assert p.response == GOOD
    assert (p.prompt_tokens, p.completion_tokens) == (11, 7)
    assert p.latency_s > 0
    sent = srv.requests[0]
    assert sent["_path"].endswith("/chat/completions")
    assert sent["model"] == "scripted-model" and sent["temperature"] == 0.2
    assert sent["response_format"]["type"] == "json_schema"
    assert "passes" in json.dumps(sent["response_format"]["json_schema"]["schema"])
    assert sent["messages"] == p.messages
    assert "```llvm" in sent["messages"][1]["content"] and "store i32 7" in sent["messages"][1]["content"]


def test_several_candidates(server: Callable[..., ScriptedServer]) -> None:
    answer = {"candidates": [{"passes": "default<Oz>", "predicted_value": 3}, {"passes": ["sroa", "gvn"]},
                             {"passes": "dce"}], "rationale": "r"}
    srv = server([json.dumps(answer)])
    p = proposer(srv).propose(context(n=2))
    assert [c.text for c in p.candidates] == ["default<Oz>", "sroa,gvn"]
    assert p.predictions == [3.0, None]
    assert "candidates" in json.dumps(srv.requests[0]["response_format"])
    assert "up to 2" in srv.requests[0]["messages"][0]["content"]


def test_malformed_json_is_an_error(server: Callable[..., ScriptedServer]) -> None:
    srv = server(['{"passes": "function(mem2reg" , ,  oops'])
    p = proposer(srv).propose(context())
    assert_failed(p)
    assert p.response is not None and p.response.startswith('{"passes"')


def test_unknown_passes_still_become_a_candidate(server: Callable[..., ScriptedServer]) -> None:
    srv = server([json.dumps({"passes": "frobnicate,function(no-such-pass<x;y>)", "predicted_value": "12"})])
    p = proposer(srv).propose(context())
    assert p.error is None
    assert p.candidates == [Candidate.passes("frobnicate,function(no-such-pass<x;y>)")]
    assert p.predictions == [12.0]


def test_shell_metacharacters_never_become_a_candidate(server: Callable[..., ScriptedServer]) -> None:
    srv = server([json.dumps({"passes": "mem2reg; rm -rf /"})])
    assert_failed(proposer(srv).propose(context()), "';'")


def test_server_errors_are_retried(server: Callable[..., ScriptedServer]) -> None:
    srv = server([500, 500, GOOD])
    p = proposer(srv, max_retries=2).propose(context())
    assert p.error is None and len(p.candidates) == 1
    assert srv.count == 3


def test_server_error_forever_is_a_clean_error(server: Callable[..., ScriptedServer]) -> None:
    srv = server([], default=500)
    p = proposer(srv, max_retries=2).propose(context())
    assert_failed(p, "HTTP 500", "2 retries")
    assert p.response is None
    assert srv.count == 3


def test_rate_limit_is_retried(server: Callable[..., ScriptedServer]) -> None:
    srv = server([429, GOOD])
    p = proposer(srv, max_retries=2).propose(context())
    assert p.error is None and srv.count == 2


def test_rate_limit_forever(server: Callable[..., ScriptedServer]) -> None:
    srv = server([], default=429)
    p = proposer(srv, max_retries=1).propose(context())
    assert_failed(p, "rate limited (429)", "1 retries")
    assert srv.count == 2


def test_stall_times_out_within_bounds(server: Callable[..., ScriptedServer]) -> None:
    srv = server([Sleep(30, then=GOOD)])
    start = time.monotonic()
    p = proposer(srv, timeout_s=1, max_retries=0).propose(context())
    elapsed = time.monotonic() - start
    assert_failed(p, "timeout after 1s")
    assert elapsed < 5 and p.latency_s < 5
    assert srv.count == 1


def test_dropped_connection(server: Callable[..., ScriptedServer]) -> None:
    srv = server([DROP, DROP])
    p = proposer(srv, max_retries=1).propose(context())
    assert_failed(p, "connection")
    assert srv.count == 2


def test_dropped_connection_then_recovery(server: Callable[..., ScriptedServer]) -> None:
    srv = server([DROP, GOOD])
    p = proposer(srv, max_retries=1).propose(context())
    assert p.error is None and srv.count == 2


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    prop = OpenAIProposer("m", base_url=url, api_key="k", timeout_s=5, max_retries=0)
    assert_failed(prop.propose(context()), "connection refused")


def test_non_json_body_is_malformed(server: Callable[..., ScriptedServer]) -> None:
    srv = server([Raw(b"<html>proxy error</html>", content_type="text/html")])
    p = proposer(srv, max_retries=0).propose(context())
    assert_failed(p)
    assert p.response is None


def test_empty_choices_is_malformed(server: Callable[..., ScriptedServer]) -> None:
    srv = server([Raw(json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                  "choices": []}).encode())])
    assert_failed(proposer(srv, max_retries=0).propose(context()), "malformed response")


def test_server_rejecting_response_format_falls_back(server: Callable[..., ScriptedServer]) -> None:
    def picky(body: dict[str, Any]) -> Any:
        return 400 if "response_format" in body else GOOD

    srv = server([], default=picky)
    prop = proposer(srv)
    first = prop.propose(context())
    assert first.error is None and len(first.candidates) == 1
    assert srv.count == 2 and "response_format" not in srv.requests[1]
    second = prop.propose(context())  # remembered: no second rejected request
    assert second.error is None and srv.count == 3 and "response_format" not in srv.requests[2]


def test_unstructured_sends_no_response_format(server: Callable[..., ScriptedServer]) -> None:
    srv = server(["Run passes `-mem2reg -instcombine` to get instruction count 3"])
    p = proposer(srv, structured=False, extra_body={"top_k": 5}).propose(context())
    assert p.candidates == [Candidate.passes("mem2reg,instcombine")] and p.predictions == [3.0]
    assert "response_format" not in srv.requests[0] and srv.requests[0]["top_k"] == 5


def test_feedback_reaches_the_server_verbatim(server: Callable[..., ScriptedServer]) -> None:
    feedback1 = (
        "status: invalid_pipeline\nopt-19: unknown pass name 'frobnicate'\n"
        "Your prediction 12 vs measured n/a; baseline 41 instructions."
    )
    feedback2 = "status: ok\nvalue: 37 instructions (predicted 35.5); improvement 1.108x over default<Oz>"
    turns = [
        Turn(response='{"passes": "frobnicate", "predicted_value": 12}', feedback=feedback1),
        Turn(response='{"passes": "function(sroa),instcombine", "predicted_value": 35.5}',
             feedback=feedback2),
    ]
    srv = server([GOOD])
    p = proposer(srv).propose(context(turns))
    msgs = srv.requests[0]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[2]["content"] == turns[0].response and msgs[3]["content"] == feedback1
    assert msgs[4]["content"] == turns[1].response and msgs[5]["content"] == feedback2
    assert p.messages == msgs


def test_long_conversations_keep_the_newest_turns(server: Callable[..., ScriptedServer]) -> None:
    from optloop.agent.proposers.chat import build_messages

    turns = [Turn(response=f'{{"passes": "p{i}"}}', feedback=f"feedback {i} " + "x" * 5000)
             for i in range(40)]
    ctx = context(turns)
    ctx.best = Attempt(Candidate.passes("function(sroa),gvn"), "ok", 30.0, step=3)
    msgs = build_messages(ctx, max_chars=30_000)
    assert sum(len(m["content"]) for m in msgs) <= 30_000
    assert msgs[-1]["content"] == turns[-1].feedback
    assert [m["role"] for m in msgs[:2]] == ["system", "user"] and len(msgs) % 2 == 0
    assert "left out" in msgs[1]["content"] and "function(sroa),gvn" in msgs[1]["content"]
    assert build_messages(context(turns[:2]))[1]["content"].count("left out") == 0
