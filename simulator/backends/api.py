"""A model behind a pay-per-token API, as the engine sees it.

A call takes time to first token plus output tokens (visible and reasoning)
times time per output token, both drawn per call from the backend's own
streams. The API has no queue of its own; its requests- and tokens-per-minute
limits are fixed one-minute windows, and a call that does not fit the current
window is admitted at the start of the first later window with room. Limited
calls are admitted in request order: a small call never overtakes a large one
waiting for room.
With `on_rate_limit: retry` a call that does not fit is refused (429) and
resent after an exponential back-off with jitter, up to a retry cap.
Limitations: capacity is unlimited below the rate limits (no provider-side
queueing); tokens count against the limit when the call is admitted.
"""

from __future__ import annotations

import simpy

from simulator.records import CALL_OK, CALL_OVER_TPM, CALL_RATE_LIMITED
from simulator.rng import Streams
from simulator.scenario.schema import ApiBackend, Model
from simulator.workload.sampling import UNIT, make_sampler

WINDOW_S = 60.0
TTL_S = {"5m": 300.0, "1h": 3600.0}


class MinuteWindows:
    """Requests and tokens admitted per fixed one-minute window."""

    def __init__(self, requests_per_min: int | None, tokens_per_min: int | None):
        if requests_per_min is not None and requests_per_min < 1:
            raise ValueError(f"requests_per_min must be >= 1, got {requests_per_min}")
        if tokens_per_min is not None and tokens_per_min < 1:
            raise ValueError(f"tokens_per_min must be >= 1, got {tokens_per_min}")
        self.requests_per_min = requests_per_min
        self.tokens_per_min = tokens_per_min
        self._requests: dict[int, int] = {}
        self._tokens: dict[int, int] = {}
        self._oldest = 0
        self._last = 0

    def peek(self, now: float, tokens: int) -> float:
        """When a call of `tokens` would be admitted, without reserving it."""
        if self.tokens_per_min is not None and tokens > self.tokens_per_min:
            return float("inf")
        window = max(int(now // WINDOW_S), self._last)
        while not self._fits(window, tokens):
            window += 1
        return max(now, window * WINDOW_S)

    def admit_at(self, now: float, tokens: int) -> float | None:
        """Reserve room for one call; its admission instant, or None if never."""
        if self.tokens_per_min is not None and tokens > self.tokens_per_min:
            return None
        window = max(int(now // WINDOW_S), self._last)
        self._forget_before(int(now // WINDOW_S))
        while not self._fits(window, tokens):
            window += 1
        self._last = window
        self._requests[window] = self._requests.get(window, 0) + 1
        self._tokens[window] = self._tokens.get(window, 0) + tokens
        return max(now, window * WINDOW_S)

    def _fits(self, window: int, tokens: int) -> bool:
        if (self.requests_per_min is not None
                and self._requests.get(window, 0) >= self.requests_per_min):
            return False
        return (self.tokens_per_min is None
                or self._tokens.get(window, 0) + tokens <= self.tokens_per_min)

    def _forget_before(self, window: int) -> None:
        if not self._requests:
            self._oldest = window
        while self._oldest < window:
            self._requests.pop(self._oldest, None)
            self._tokens.pop(self._oldest, None)
            self._oldest += 1


class PromptCache:
    """A provider's prompt cache for one task: its prefix and when it expires.

    The first call writes its whole prompt: that is the cached prefix. Within
    the lifetime a later call reads the prefix and restarts the lifetime;
    after it, the call writes the prefix again. The rest of a later call's
    input is fresh.
    """

    def __init__(self, ttl: str) -> None:
        self.ttl_s = TTL_S[ttl]
        self.tokens = 0
        self.expires_at = float("-inf")

    def use(self, now: float, tokens_in: int) -> tuple[int, int]:
        """(tokens read, tokens written) for a call sending `tokens_in` now."""
        if not self.tokens:
            self.tokens = tokens_in
            self.expires_at = now + self.ttl_s
            return 0, tokens_in
        prefix = min(self.tokens, tokens_in)
        alive = now < self.expires_at
        self.expires_at = now + self.ttl_s
        return (prefix, 0) if alive else (0, prefix)


class ApiServer:
    """Runtime state of one API backend: latency samplers and rate limits."""

    def __init__(self, name: str, spec: ApiBackend, model: Model,
                 streams: Streams) -> None:
        self.name = name
        self.context_window_tokens = model.context_window_tokens
        self.tokenizer_factor = model.tokenizer_factor
        self.ttft_s = make_sampler(spec.ttft_s, streams.generator(
            f"backends/{name}/ttft"))
        self.time_per_output_token_s = make_sampler(
            spec.time_per_output_token_s,
            streams.generator(f"backends/{name}/time_per_output_token"),
        )
        self.pool = None
        self.mean_ttft_s = spec.ttft_s.mean()
        self.mean_tpot_s = spec.time_per_output_token_s.mean()
        self.prompt_ttl = spec.prompt_cache_ttl
        self.prompt_caches: dict[int, PromptCache] | None = (
            {} if spec.prompt_cache_ttl is not None else None)
        self.retry = spec.retry if spec.on_rate_limit == "retry" else None
        self.jitter = make_sampler(UNIT, streams.generator(f"backends/{name}/retry"))
        self.limits: MinuteWindows | None = None
        if spec.requests_per_min is not None or spec.tokens_per_min is not None:
            self.limits = MinuteWindows(spec.requests_per_min, spec.tokens_per_min)

    def prompt_cache(self, task_id: int) -> PromptCache:
        """The prompt cache of one task on this backend."""
        cache = self.prompt_caches.get(task_id)
        if cache is None:
            cache = self.prompt_caches[task_id] = PromptCache(self.prompt_ttl)
        return cache

    def expected_wait_s(self, now: float, tokens: int) -> float:
        """Seconds a call sent now would wait for its rate limits."""
        return 0.0 if self.limits is None else self.limits.peek(now, tokens) - now

    def expected_service_s(self, tokens_out: int) -> float:
        """Mean time of a call with `tokens_out` output tokens, once admitted."""
        return self.mean_ttft_s + tokens_out * self.mean_tpot_s

    def retry_until_admitted(self, env: simpy.Environment, tokens: int):
        """Send, and after each 429 back off and resend (a SimPy generator);
        returns (call status, retries)."""
        retries = 0
        while True:
            admitted_at = self.limits.peek(env.now, tokens)
            if admitted_at == float("inf"):
                return CALL_OVER_TPM, retries
            if admitted_at <= env.now:
                self.limits.admit_at(env.now, tokens)
                return CALL_OK, retries
            if retries >= self.retry.max_retries:
                return CALL_RATE_LIMITED, retries
            yield env.timeout(self.backoff_s(retries))
            retries += 1

    def backoff_s(self, attempt: int) -> float:
        """Back-off before retry `attempt` + 1: exponential, capped, jittered."""
        retry = self.retry
        ceiling = min(retry.max_backoff_s, retry.base_backoff_s * 2**attempt)
        return ceiling * (1 - retry.jitter_frac * self.jitter())
