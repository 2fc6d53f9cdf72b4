"""Scenario validation: bounds, spellings, cross-references, every problem at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator.errors import ScenarioError
from simulator.scenario import Scenario, apply_overrides, dump_resolved
from simulator.scenario.yamlio import parse_yaml, read_yaml
from tests.conftest import ROOT, build, tiny


def _problems(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        build(data)
    return caught.value.problems


def test_five_bad_fields_reported_together():
    """Negative tokens and price, zero concurrency, negative rate and a cache
    share of 1.5 are all named in one report."""
    data = tiny(arrivals={"kind": "poisson", "rate_per_s": -1},
                tools={"db": {"latency_s": 1, "concurrency": 0}})
    data["backends"]["api"]["prices"]["input_usd_per_mtok"] = -3
    chat = data["task_types"]["chat"]
    chat["cache_read_frac"] = 1.5
    chat["workflow"][0]["output_tokens"] = -5
    problems = _problems(data)
    joined = "\n".join(problems)
    assert len(problems) == 5
    assert "test: arrivals.rate_per_s: found -1;" in joined
    assert "backends.api.prices.input_usd_per_mtok: found -3;" in joined
    assert "tools.db.concurrency: found 0; must be greater than or equal to 1" in joined
    assert "task_types.chat.cache_read_frac: found 1.5;" in joined
    assert "task_types.chat.workflow[0].output_tokens: found -5;" in joined


@pytest.mark.parametrize("spelling, value", [("input_usd_per_mtok", 3.0),
                                             ("input_usd_per_ktok", 0.003),
                                             ("input_usd_per_token", 0.000003)])
def test_price_spellings_agree(spelling, value):
    """Per 1M, per 1K and per token give the same exact price."""
    data = tiny()
    prices = data["backends"]["api"]["prices"]
    del prices["input_usd_per_mtok"]
    prices[spelling] = value
    scenario = build(data)
    assert scenario.backends["api"].prices.input_usd_per_mtok == Decimal(3)


def test_price_given_twice_is_rejected():
    """Two spellings of one price are ambiguous."""
    data = tiny()
    data["backends"]["api"]["prices"]["input_usd_per_ktok"] = 0.003
    assert any("give the input price once" in p for p in _problems(data))


def test_unknown_field_is_named():
    """A typo is an error naming the field."""
    data = tiny(horizon=5)
    assert _problems(data) == [
        "test: horizon: unknown field (did you mean 'horizon_s'?); "
        "`flipsim schema` lists the fields allowed"
    ]


def test_missing_backend_lists_allowed_names():
    """A route to an undefined backend names the value and what exists."""
    data = tiny()
    data["task_types"]["chat"]["route"]["default"] = "gpt"
    (problem,) = _problems(data)
    assert "task_types.chat.route.default: found 'gpt', which is not defined; " \
           "allowed: api" in problem


def test_shares_must_sum_to_one():
    """Task-type shares are checked as a whole."""
    data = tiny()
    data["task_types"]["chat"]["share"] = 0.5
    (problem,) = _problems(data)
    assert "shares summing to 0.5; they must sum to 1" in problem


def test_step_kind_rules():
    """A tool step needs a tool; retrieve makes no LLM call."""
    data = tiny()
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "tool", "output_tokens": 5},
        {"kind": "retrieve", "tool": "x", "output_tokens": 5},
    ]
    problems = "\n".join(_problems(data))
    assert "workflow[0]: a tool step needs a tool" in problems
    assert "workflow[1]: retrieve makes no LLM call: drop output_tokens" in problems


def test_lognormal_forms():
    """Lognormal takes median and p90, or mean and sigma, not a mix."""
    data = tiny()
    step = data["task_types"]["chat"]["workflow"][0]
    step["output_tokens"] = {"dist": "lognormal", "median": 100, "sigma": 1}
    assert "give either median and p90, or mean and sigma" in _problems(data)[0]
    step["output_tokens"] = {"dist": "lognormal", "median": 100, "p90": 300}
    spec = build(data).task_types["chat"].workflow[0].output_tokens
    mu, sigma = spec.mu_sigma()
    assert spec.median == 100 and round(sigma, 6) == 0.857252  # ln(3) / z_0.90


def test_exponent_count_is_an_integer():
    """tokens_per_min: 1e9 loads as one billion."""
    text = "tokens_per_min: 1e9\n"
    data = tiny()
    data["backends"]["api"].update(parse_yaml(text))
    assert build(data).backends["api"].tokens_per_min == 1_000_000_000


def test_overrides_set_nested_fields():
    """--set reaches into nested mappings and lists, values parsed as YAML."""
    data = apply_overrides(tiny(), ["seed=7",
                                    "task_types.chat.workflow.0.output_tokens=250",
                                    "arrivals.rate_per_s=2e-2"])
    scenario = build(data)
    assert scenario.seed == 7
    assert scenario.task_types["chat"].workflow[0].output_tokens.value == 250
    assert scenario.arrivals.rate_per_s == 0.02


def test_bad_override_path():
    """An override through a value is an error naming it."""
    with pytest.raises(ScenarioError, match="horizon_s is a value, not a mapping"):
        apply_overrides(tiny(), ["horizon_s.x=1"])


def test_override_of_a_misspelt_name_is_refused():
    """A field set under a backend, tool, model or task type that does not
    exist names the ones that do; a whole new entry is still allowed."""
    with pytest.raises(ScenarioError, match=r"backends has no 'apu' \(it has: api\)"):
        apply_overrides(tiny(), ["backends.apu.ttft_s=1"])
    data = apply_overrides(tiny(), ["tools.db={latency_s: 1}"])
    assert data["tools"] == {"db": {"latency_s": 1}}


def test_resolved_scenario_reloads_identically():
    """The resolved YAML validates back to the same scenario."""
    scenario = build(tiny())
    text = dump_resolved(scenario, "test")
    assert Scenario.model_validate(parse_yaml(text)) == scenario
    assert "cached_input_usd_per_mtok: 0.3\n" in text


def test_resolved_yaml_quotes_text_that_looks_like_numbers():
    """A name like 1e5 or true is written quoted and read back as text."""
    scenario = build(tiny(name="1e5", description="true"))
    reloaded = Scenario.model_validate(parse_yaml(dump_resolved(scenario, "t")))
    assert (reloaded.name, reloaded.description) == ("1e5", "true")


def test_calendar_billing_month():
    """A named month has its own hours; the average month has 730."""
    assert build(tiny()).billing.hours() == 730
    assert build(tiny(billing={"month": "2027-02"})).billing.hours() == 672
    assert "billing.month" in _problems(tiny(billing={"month": "2027-13"}))[0]


def test_field_and_reference_problems_reported_together():
    """A bad value and a route to a missing backend appear in one report."""
    data = tiny(horizon_s=-1)
    data["task_types"]["chat"]["route"]["default"] = "gpt"
    assert _problems(data) == [
        "test: horizon_s: found -1; must be greater than or equal to 1",
        "test: task_types.chat.route.default: found 'gpt', which is not defined; "
        "allowed: api",
    ]


@pytest.mark.parametrize("change, message", [
    ({"seed": True}, "seed: must be a number, found bool True"),
    ({"horizon_s": "3600"}, "horizon_s: must be a number, found str '3600'"),
    ({"horizon_s": float("nan")}, "horizon_s: found nan; must be a finite number"),
    ({"name": "v1.5"}, "name: found 'v1.5'; a name must start with an ASCII letter"),
    ({"arrivals": {"kind": "population", "num_users": 10**10,
                   "tasks_per_user_per_day": 1}},
     "arrivals and horizon_s: 416,666,667 tasks expected; at most 50,000,000"),
    ({"seed": 1e30}, "seed: found 1e+30; a whole number far past this field's "
                     "limit"),
    ({"billing": {"month": "2025-13"}}, "billing.month: found '2025-13'; must be "
                                        "`average` or a calendar month YYYY-MM"),
    ({"horizon_s": [1, 2]}, "horizon_s: found [1, 2]; must be a valid number"),
    ({"models": {}}, "models: must have at least 1 item, not 0"),
])
def test_type_and_size_problems(change, message):
    """Text, booleans, NaN, dotted names and oversized runs are refused by name."""
    assert any(message in problem for problem in _problems(tiny(**change)))


def test_distribution_problems_are_explained():
    """A distribution without dist:, or as text, says what to write instead."""
    data = tiny()
    step = data["task_types"]["chat"]["workflow"][0]
    step["output_tokens"] = {"value": 3}
    assert "without dist:; name one of constant, uniform" in _problems(data)[0]
    step["output_tokens"] = {"dist": "exponential", "mean": 1e12}
    assert "output_tokens.mean: found 1000000000000.0; must be less than or equal" \
        in _problems(data)[0]


def test_nested_paths_keep_the_loop_level():
    """A problem inside a loop is reported with its full path."""
    data = tiny()
    data["task_types"]["chat"]["workflow"] = [{"loop": {"iterations": 1, "steps": [
        {"kind": "tool", "tool": "nope", "output_tokens": 1}]}}]
    assert _problems(data) == [
        "test: task_types.chat.workflow[0].loop.steps[0].tool: found 'nope', which "
        "is not defined; allowed: none defined"]


def test_shipped_scenarios_match_the_json_schema():
    """The schema `flipsim schema` prints accepts every shipped scenario."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = Scenario.model_json_schema(by_alias=True)
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        jsonschema.validate(read_yaml(path), schema)
    per_k = tiny()
    per_k["backends"]["api"]["prices"] = {"input_usd_per_ktok": 0.003,
                                          "output_usd_per_token": 0.000015}
    jsonschema.validate(per_k, schema)


def test_runaway_nested_loops_are_refused():
    """Nested loops whose caps multiply past the plan limit are refused up front."""
    data = tiny()
    inner = {"loop": {"iterations": 10, "max_iterations": 10_000,
                      "steps": [{"kind": "act", "output_tokens": 1}]}}
    data["task_types"]["chat"]["workflow"] = [
        {"loop": {"iterations": 10, "max_iterations": 10_000, "steps": [inner]}}]
    (problem,) = _problems(data)
    assert "workflow: loops may visit 400,040,004 steps in one task" in problem
