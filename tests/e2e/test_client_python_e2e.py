"""The Python client (clients/python) against the real mesh: a gateway process the test kills and
restarts, and a fake local fallback. Time is the test's: the cooldown passes on an injected clock and
the backoff sleeps are recorded, not slept."""
from __future__ import annotations

import openai
import pytest

from tests.e2e.client_support import FakeClock, RecordingSleep, user
from tests.e2e.conftest import MASTER_KEY
from tests.e2e.gateway_process import GatewayProcess
from tests.fakes.fallback_server import ThreadedFallback
from tokenyard_client import FallbackFailedError, TokenyardClient

MAP = {"fake-echo": "llama3.2", "fake-embed": "nomic-embed-text", "fake-cut-after-3": "llama3.2"}


@pytest.fixture(scope="module")
def fallback():
    runner = ThreadedFallback()
    server = runner.start()
    yield server
    runner.stop()


@pytest.fixture
def gateway(mesh):
    gw = GatewayProcess(mesh).start()
    yield gw
    gw.stop()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sleeps():
    return RecordingSleep()


@pytest.fixture
def client(gateway, fallback, clock, sleeps):
    fallback.requests.clear()
    c = TokenyardClient(gateway.base_url, MASTER_KEY, fallback_base_url=fallback.base_url,
                        fallback_model_map=MAP, clock=clock, sleep=sleeps, timeout=20)
    with c:
        yield c


def text(answer) -> str:
    return answer.choices[0].message.content


def test_gateway_up_answers_come_from_the_gateway_and_status_says_gateway(client, fallback, sleeps):
    answer = client.chat.completions.create(model="fake-echo", messages=user("hello from the app"))
    assert text(answer) == "hello from the app" and answer.model == "fake-echo"
    chunks = list(client.chat.completions.create(model="fake-echo", messages=user("streamed words"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed words"
    emb = client.embeddings.create(model="fake-embed", input=["a", "b"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 16
    status = client.get_status()
    assert (status.gateway, status.fallback, status.mode) == (True, "up", "gateway")
    assert fallback.requests == [] and sleeps.calls == [] and status.fallback_usage.calls == 0


def test_gateway_killed_mid_session_next_call_answers_from_the_fallback_within_the_retry_budget(
        client, gateway, fallback, sleeps):
    assert text(client.chat.completions.create(model="fake-echo", messages=user("before"))) == "before"
    gateway.kill()
    answer = client.chat.completions.create(model="fake-echo", messages=user("after the crash"))
    assert text(answer) == "local llama3.2: after the crash"
    assert sleeps.calls == [0.25, 0.5]  # three tries at the gateway, exponential backoff, then the fallback
    assert [r["model"] for r in fallback.requests] == ["llama3.2"]
    status = client.get_status()
    assert (status.gateway, status.fallback, status.mode) == (False, "up", "fallback")
    usage = client.fallback_usage()
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 11, 5)
    assert usage.by_model == {"llama3.2": {"calls": 1, "prompt_tokens": 11, "completion_tokens": 5}}


def test_client_stays_on_the_fallback_for_the_cooldown_then_returns_to_the_gateway(
        client, gateway, fallback, clock, sleeps):
    gateway.kill()
    client.chat.completions.create(model="fake-echo", messages=user("one"))
    gateway.start()  # back on the same port, but the cooldown is not over
    clock.advance(29)
    answer = client.chat.completions.create(model="fake-echo", messages=user("two"))
    assert text(answer) == "local llama3.2: two" and client.get_status().mode == "fallback"
    assert sleeps.calls == [0.25, 0.5]  # no new tries at the gateway during the cooldown
    clock.advance(2)
    answer = client.chat.completions.create(model="fake-echo", messages=user("three"))
    assert text(answer) == "three"
    assert client.get_status().mode == "gateway" and client.fallback_usage().calls == 2


def test_after_the_cooldown_a_dead_gateway_costs_one_probe_not_another_round_of_retries(
        client, gateway, fallback, clock, sleeps):
    gateway.kill()
    client.chat.completions.create(model="fake-echo", messages=user("one"))
    clock.advance(31)
    answer = client.chat.completions.create(model="fake-echo", messages=user("two"))
    assert text(answer) == "local llama3.2: two"
    assert sleeps.calls == [0.25, 0.5] and client.get_status().mode == "fallback"


def test_a_5xx_from_the_gateway_is_retried_then_falls_back(mesh, fallback, clock, sleeps):
    from services.common.redis_server import free_port

    # A gateway that is up (its /healthz answers) but whose router is gone: every call is a 5xx.
    broken = GatewayProcess(mesh, env={"TOKENYARD_ROUTER_ADDR": f"127.0.0.1:{free_port()}"}).start()
    try:
        with TokenyardClient(broken.base_url, MASTER_KEY, fallback_base_url=fallback.base_url,
                             fallback_model_map=MAP, clock=clock, sleep=sleeps) as client:
            with pytest.raises(openai.InternalServerError):
                client.gateway.chat.completions.create(model="fake-echo", messages=user("direct"))
            answer = client.chat.completions.create(model="fake-echo", messages=user("flaky"))
            assert text(answer) == "local llama3.2: flaky" and sleeps.calls == [0.25, 0.5]
    finally:
        broken.stop()


@pytest.mark.parametrize("case", ["bad request", "bad key"])
def test_a_gateway_4xx_is_no_reason_to_retry_or_fall_back(gateway, fallback, clock, sleeps, case):
    fallback.requests.clear()
    key = MASTER_KEY if case == "bad request" else "ty-wrong-key-0123456789abcdef"
    client = TokenyardClient(gateway.base_url, key, fallback_base_url=fallback.base_url, fallback_model_map=MAP,
                             clock=clock, sleep=sleeps)
    expected = openai.BadRequestError if case == "bad request" else openai.AuthenticationError
    with pytest.raises(expected) as err:
        if case == "bad request":
            client.chat.completions.create(model="fake-echo", messages=[])
        else:
            client.chat.completions.create(model="fake-echo", messages=user("hi"))
    assert err.value.status_code == (400 if case == "bad request" else 401)
    with pytest.raises(expected):
        client.chat.completions.create(model="fake-echo", messages=user("hi"), stream=True,
                                       **({"temperature": 9} if case == "bad request" else {}))
    assert fallback.requests == [] and sleeps.calls == [] and client.get_status().mode == "gateway"


def test_a_stream_broken_after_its_first_token_is_not_continued_on_the_fallback(client, fallback, sleeps):
    stream = client.chat.completions.create(model="fake-cut-after-3", messages=user("a b c d e f"), stream=True)
    got = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")
    assert "".join(got).split() == ["a", "b", "c"]
    assert fallback.requests == [] and sleeps.calls == [] and client.get_status().mode == "gateway"


def test_a_stream_asked_of_a_dead_gateway_streams_from_the_fallback_and_is_recorded(client, gateway, fallback):
    gateway.kill()
    stream = client.chat.completions.create(model="fake-echo", messages=user("stream it"), stream=True)
    chunks = list(stream)
    assert stream.route == "fallback"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "local llama3.2: stream it"
    # The client asked for usage for its own ledger; the caller, who did not, sees no usage chunk.
    assert all(c.choices and c.usage is None for c in chunks)
    assert fallback.requests[0]["stream_options"] == {"include_usage": True}
    assert (client.fallback_usage().calls, client.fallback_usage().completion_tokens) == (1, 4)


def test_embeddings_fall_back_with_the_mapped_model(client, gateway, fallback):
    gateway.kill()
    emb = client.embeddings.create(model="fake-embed", input="x")
    assert emb.model == "nomic-embed-text" and emb.data[0].embedding == [0.5, 0.25, 0.125]
    assert client.fallback_usage().by_model["nomic-embed-text"]["prompt_tokens"] == 3


def test_gateway_and_fallback_both_down_is_one_error_naming_both(gateway, clock, sleeps):
    from services.common.redis_server import free_port

    client = TokenyardClient(gateway.base_url, MASTER_KEY, fallback_base_url=f"http://127.0.0.1:{free_port()}/v1",
                             clock=clock, sleep=sleeps)
    gateway.kill()
    with pytest.raises(FallbackFailedError) as err:
        client.chat.completions.create(model="fake-echo", messages=user("anyone?"))
    assert isinstance(err.value.gateway_error, openai.APIConnectionError)
    assert isinstance(err.value.fallback_error, openai.APIConnectionError)
    status = client.get_status()
    assert (status.gateway, status.fallback, status.mode) == (False, "down", "fallback")


def test_during_the_cooldown_an_unreachable_fallback_sends_the_call_back_to_a_live_gateway(
        gateway, clock, sleeps):
    fb = ThreadedFallback()
    server = fb.start()
    client = TokenyardClient(gateway.base_url, MASTER_KEY, fallback_base_url=server.base_url,
                             fallback_model_map=MAP, clock=clock, sleep=sleeps)
    gateway.kill()
    assert text(client.chat.completions.create(model="fake-echo", messages=user("x"))).startswith("local")
    fb.stop()
    gateway.start()
    assert text(client.chat.completions.create(model="fake-echo", messages=user("back"))) == "back"
    assert client.get_status().mode == "gateway"


def test_a_gateway_that_does_not_answer_in_time_counts_as_down(gateway, fallback, clock, sleeps):
    fallback.requests.clear()
    with TokenyardClient(gateway.base_url, MASTER_KEY, fallback_base_url=fallback.base_url, timeout=0.3,
                         clock=clock, sleep=sleeps) as client:
        answer = client.chat.completions.create(model="fake-slow-1500", messages=user("too slow"))
        assert text(answer) == "local fake-slow-1500: too slow"  # unmapped names go to the fallback unchanged
        assert sleeps.calls == [0.25, 0.5] and client.get_status().mode == "fallback"


def test_a_gateway_killed_mid_stream_raises_to_the_caller_and_the_fallback_never_hears_of_it(
        client, gateway, fallback, sleeps):
    stream = client.chat.completions.create(model="fake-slow-100", messages=user("one two three four five six"),
                                            stream=True)
    first = next(c for c in stream if c.choices and c.choices[0].delta.content)
    assert first.choices[0].delta.content.strip() == "one"
    gateway.kill()
    with pytest.raises(openai.APIConnectionError):
        for _ in stream:
            pass
    assert fallback.requests == [] and sleeps.calls == []


def test_during_the_cooldown_with_the_fallback_gone_a_gateway_4xx_ends_the_cooldown_and_is_raised(
        gateway, clock, sleeps):
    fb = ThreadedFallback()
    server = fb.start()
    client = TokenyardClient(gateway.base_url, MASTER_KEY, fallback_base_url=server.base_url, clock=clock,
                             sleep=sleeps)
    gateway.kill()
    client.chat.completions.create(model="fake-echo", messages=user("x"))
    fb.stop()
    gateway.start()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fake-echo", messages=[])
    assert client.get_status().mode == "gateway"  # refused, but alive: no reason to stay away
