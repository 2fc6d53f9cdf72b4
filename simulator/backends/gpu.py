"""GPU replicas that batch sequences, and the pool that queues calls for them.

A pool holds `replicas` identical replicas; each serves up to
`max_concurrency` sequences at once. Calls wait in one first-come
first-served queue for a free slot on any replica (the least busy, lowest
index first). Two performance models:

- `batched`: a sequence first prefills its uncached input at
  `prefill_tokens_per_s`, which yields its first token; it then decodes its
  remaining output tokens one per iteration. An iteration of a replica
  decoding b sequences takes `base_s + per_sequence_s * b`, so every decoding
  sequence advances at 1 / (base_s + per_sequence_s * b) tokens per second and
  the replica's throughput rises with b towards 1 / per_sequence_s. The
  sequences waiting to prefill are prefilled together in one pass, which takes
  their tokens / prefill rate but at least one iteration (`base_s`), and
  pauses decoding while it runs (prefill first, as engines without chunked
  prefill schedule).
- `service_time`: a sequence holds its slot for a drawn service time, whatever
  else runs; with one slot per replica and exponential times this is M/M/c.

Decoding is tracked with a work clock (tokens each decoding sequence has
produced since the clock started), so a batch change costs O(log b), not O(b).
Limitations: no chunked prefill, no preemption or KV-cache swapping, no
prefix cache reuse across calls beyond the cached-token count the plan gives,
replicas never fail.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

import simpy

from simulator.backends.autoscale import Autoscaler
from simulator.catalogue import PRESETS
from simulator.rng import Streams
from simulator.scenario.gpu import PresetPerformance, ServiceTimePerformance
from simulator.workload.sampling import make_sampler

EPSILON_TOKENS = 1e-6  # a millionth of a token: rounding, not work left
EWMA_WEIGHT = 0.05  # weight of the newest call in the moving average of service
PRIOR_TOKENS_IN, PRIOR_TOKENS_OUT = 1000, 300  # assumed call before any finishes


class Sequence:
    """One LLM call on a GPU pool, with the instants the pool records."""

    __slots__ = ("prefill_tokens", "decode_tokens", "service_s", "requested_at",
                 "started_at", "first_token_at", "finished_at", "replica", "done")

    def __init__(self, env: simpy.Environment, prefill_tokens: int,
                 decode_tokens: int, service_s: float) -> None:
        self.prefill_tokens = prefill_tokens
        self.decode_tokens = decode_tokens
        self.service_s = service_s
        self.requested_at = env.now
        self.started_at = float("nan")
        self.first_token_at = float("nan")
        self.finished_at = float("nan")
        self.replica = -1
        self.done = env.event()


class Replica:
    """One replica: its prefill queue, decoding batch and work clock."""

    def __init__(self, env: simpy.Environment, index: int, pool: GpuPool) -> None:
        self.env = env
        self.index = index
        self.pool = pool
        self.active = 0
        self.prefills: deque[Sequence] = deque()
        self.prefilling: list[Sequence] | None = None
        self.decoding: list[tuple[float, int, Sequence]] = []
        self.work = 0.0
        self.updated_at = 0.0
        self.version = 0
        self.counter = 0
        self.slot_s = 0.0
        self.busy_s = 0.0
        self.live_s = 0.0
        self.accounted_at = env.now
        self.serving = True
        self.last_change = env.now

    def account(self) -> None:
        """Add the time since the last change to slot-seconds and busy time."""
        elapsed = self.env.now - self.accounted_at
        self.slot_s += self.active * elapsed
        if self.active:
            self.busy_s += elapsed
        if self.serving:
            self.live_s += elapsed
        self.accounted_at = self.env.now

    def admit(self, sequence: Sequence) -> None:
        """Start serving a sequence in a free slot."""
        sequence.started_at = self.env.now
        sequence.replica = self.index
        self.account()
        self.active += 1
        self.last_change = self.env.now
        if self.pool.service_model is not None:
            sequence.first_token_at = self.env.now
            self.env.timeout(sequence.service_s).callbacks.append(
                lambda _event, s=sequence: self._finish(s))
            return
        self._advance()
        self.prefills.append(sequence)
        if self.prefilling is None:
            self._start_prefill()

    def _rate(self) -> float:
        """Tokens per second of each decoding sequence now."""
        return 1.0 / (self.pool.base_s + self.pool.per_sequence_s * len(self.decoding))

    def _advance(self) -> None:
        now = self.env.now
        if self.decoding and self.prefilling is None:
            self.work += (now - self.updated_at) * self._rate()
        self.updated_at = now

    def _start_prefill(self) -> None:
        """Prefill every waiting sequence together in one pass."""
        batch = list(self.prefills)
        self.prefills.clear()
        self.prefilling = batch
        self.version += 1
        tokens = sum(sequence.prefill_tokens for sequence in batch)
        duration = max(tokens / self.pool.prefill_tokens_per_s,
                       self.pool.base_s)  # a pass takes at least one iteration
        self.env.timeout(duration).callbacks.append(self._prefill_done)

    def _prefill_done(self, _event: simpy.Event) -> None:
        batch = self.prefilling
        self.prefilling = None
        self.updated_at = self.env.now
        for sequence in batch:
            sequence.first_token_at = self.env.now
            if sequence.decode_tokens <= 0:
                self._finish(sequence)
            else:
                self.counter += 1
                heapq.heappush(self.decoding, (self.work + sequence.decode_tokens,
                                               self.counter, sequence))
        if self.prefills:
            self._start_prefill()
        else:
            self._schedule_completion()

    def _schedule_completion(self) -> None:
        self.version += 1
        if not self.decoding or self.prefilling is not None:
            return
        delay = max(self.decoding[0][0] - self.work, 0.0) / self._rate()
        if self.env.now + delay == self.env.now:  # below the clock's resolution
            delay = 0.0
        version = self.version
        self.env.timeout(delay).callbacks.append(
            lambda _event: self._complete(version, delay == 0.0))

    def _complete(self, version: int, due: bool = False) -> None:
        if version != self.version:
            return
        self._advance()
        if due:  # the next finish is due now, whatever rounding left over
            self.work = max(self.work, self.decoding[0][0])
        while self.decoding and self.decoding[0][0] <= self.work + EPSILON_TOKENS:
            _, _, sequence = heapq.heappop(self.decoding)
            self._finish(sequence)
        if not self.decoding:
            self.work = 0.0  # restart the clock so it never loses precision
        if self.prefilling is None:
            self._schedule_completion()

    def _finish(self, sequence: Sequence) -> None:
        sequence.finished_at = self.env.now
        self.pool.note_service(sequence.finished_at - sequence.started_at)
        self.account()
        self.active -= 1
        self.last_change = self.env.now
        sequence.done.succeed()
        self.pool.slot_freed(self)


class GpuPool:
    """Replicas of one model behind one first-come first-served queue."""

    def __init__(self, env: simpy.Environment, *, replicas: int, max_concurrency: int,
                 prefill_tokens_per_s: float = 1.0, base_s: float = 1.0,
                 per_sequence_s: float = 0.0,
                 service_model: Callable[[], float] | None = None,
                 prior_service_s: float = 0.0) -> None:
        if replicas < 0:
            raise ValueError(f"replicas must be >= 0, got {replicas}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if service_model is None and (prefill_tokens_per_s <= 0 or base_s <= 0
                                      or per_sequence_s < 0):
            raise ValueError("prefill_tokens_per_s and base_s must be > 0, "
                             "per_sequence_s >= 0")
        self.env = env
        self.max_concurrency = max_concurrency
        self.prefill_tokens_per_s = prefill_tokens_per_s
        self.base_s = base_s
        self.per_sequence_s = per_sequence_s
        self.service_model = service_model
        self.replicas = [Replica(env, i, self) for i in range(replicas)]
        self.waiting: deque[Sequence] = deque()
        self.service_ewma_s = prior_service_s
        self.autoscaler = None

    def request(self, prefill_tokens: int, decode_tokens: int) -> Sequence:
        """Queue one call; its `done` event fires when the last token is out."""
        service_s = self.service_model() if self.service_model is not None else 0.0
        sequence = Sequence(self.env, prefill_tokens, decode_tokens, service_s)
        serving = [r for r in self.replicas if r.serving]
        replica = min(serving, key=lambda r: r.active) if serving else None
        if (replica is not None and replica.active < self.max_concurrency
                and not self.waiting):
            replica.admit(sequence)
        else:
            self.waiting.append(sequence)
            if self.autoscaler is not None:
                self.autoscaler.on_waiting()
        return sequence

    def slot_freed(self, replica: Replica) -> None:
        """Give a freed slot to the call waiting longest."""
        if self.waiting:
            replica.admit(self.waiting.popleft())
        elif replica.active == 0 and self.autoscaler is not None:
            self.autoscaler.on_idle(replica)

    def add_replica(self) -> Replica:
        """A new replica, not yet serving (it is being provisioned)."""
        replica = Replica(self.env, len(self.replicas), self)
        replica.serving = False
        self.replicas.append(replica)
        return replica

    def activate(self, replica: Replica) -> None:
        """A provisioned replica starts serving and takes waiting calls."""
        replica.account()
        replica.serving = True
        replica.last_change = self.env.now
        while self.waiting and replica.active < self.max_concurrency:
            replica.admit(self.waiting.popleft())
        if replica.active == 0 and self.autoscaler is not None:
            self.autoscaler.on_idle(replica)

    def retire(self, replica: Replica) -> None:
        """Stop an idle replica."""
        replica.account()
        replica.serving = False

    def expected_wait_s(self) -> float:
        """Seconds a call queued now would wait: the queue ahead of it over the
        slots, times the recent mean time a call holds a slot."""
        serving = [r for r in self.replicas if r.serving]
        free = any(r.active < self.max_concurrency for r in serving)
        if free and not self.waiting:
            return 0.0
        if not serving:
            return float("inf")
        slots = self.max_concurrency * len(serving)
        return (len(self.waiting) + 1) * self.service_ewma_s / slots

    def note_service(self, duration_s: float) -> None:
        """Fold one finished call's time in a slot into the moving average."""
        self.service_ewma_s += EWMA_WEIGHT * (duration_s - self.service_ewma_s)

    def usage(self) -> tuple[float, float]:
        """Slot-seconds, replica-busy seconds and serving replica-seconds so far,
        summed over replicas."""
        for replica in self.replicas:
            replica.account()
        return (sum(r.slot_s for r in self.replicas),
                sum(r.busy_s for r in self.replicas),
                sum(r.live_s for r in self.replicas))


class GpuServer:
    """Runtime state of one GPU backend: its pool and the model's limits."""

    def __init__(self, env: simpy.Environment, name: str, spec: object,
                 model: object, streams: Streams) -> None:
        self.name = name
        self.context_window_tokens = model.context_window_tokens
        self.tokenizer_factor = model.tokenizer_factor
        self.limits = None
        self.prompt_caches = None
        self.retry = None
        cap = spec.slot_cap(model.weights_gb, model.kv_bytes_per_token)
        performance = spec.performance
        if isinstance(performance, ServiceTimePerformance):
            service = make_sampler(performance.service_time_s,
                                   streams.generator(f"backends/{name}/service"))
            self.pool = GpuPool(env, replicas=spec.replicas, max_concurrency=cap,
                                service_model=service,
                                prior_service_s=performance.service_time_s.mean())
            self._autoscale(env, spec)
            return
        if isinstance(performance, PresetPerformance):
            preset = PRESETS[performance.name]
            rates = (preset.prefill_tokens_per_s, preset.iteration_base_s,
                     preset.iteration_per_sequence_s)
        else:
            rates = (performance.prefill_tokens_per_s, performance.iteration_base_s,
                     performance.iteration_per_sequence_s)
        prior = (PRIOR_TOKENS_IN / rates[0]
                 + PRIOR_TOKENS_OUT * (rates[1] + rates[2] * cap / 2))
        self.pool = GpuPool(env, replicas=spec.replicas, max_concurrency=cap,
                            prefill_tokens_per_s=rates[0], base_s=rates[1],
                            per_sequence_s=rates[2], prior_service_s=prior)
        self._autoscale(env, spec)

    def _autoscale(self, env: simpy.Environment, spec: object) -> None:
        autoscale = getattr(spec, "autoscale", None)
        if autoscale is not None:
            self.pool.autoscaler = Autoscaler(env, self.pool, autoscale)

    def expected_wait_s(self, now: float, tokens: int) -> float:
        """Seconds a call sent now would wait for a slot."""
        return self.pool.expected_wait_s()

    def expected_service_s(self, tokens_out: int) -> float:
        """Recent mean time a call holds a slot."""
        return self.pool.service_ewma_s
