"""The timeline report as a story: short paragraphs between the charts.

Every number in the text is filled in from the timeline summary (templated
sentences, nothing typed by hand), so the words and the charts agree.
Limitations: English only; the sentences are fixed templates, so an unusual
timeline (prices that rise, a bill that falls) reads plainly, not elegantly.
"""

from __future__ import annotations

from simulator.report.blocks import Block, FileLinks, Heading, Image, Paragraph, Table
from simulator.report.blocks import money as _money
from simulator.report.timeline_figures import (
    BUDGET_CHART,
    FLIP_CHART,
    MULTIPLIER_TIMELINE_CHART,
    PRICE_BILL_CHART,
)

PERIODS_FILE = "periods.csv"
STORY_YEARS = ("2023", "2025", "2026")  # the years of the public share series


def build_timeline_document(summary: dict) -> list[Block]:
    """Every block of the timeline report, in reading order."""
    scenario, timeline = summary["scenario"], summary["timeline"]
    periods = timeline["periods"]
    blocks: list[Block] = [Heading(1, f"The Inference Flip: {scenario['name']}")]
    if scenario["description"]:
        blocks.append(Paragraph(scenario["description"]))
    blocks.append(Paragraph(_opening(timeline)))
    if not periods:
        return blocks
    blocks += [Heading(2, "Tokens got cheaper; the bill grew"),
               Paragraph(_price_story(timeline)),
               Image(PRICE_BILL_CHART.file_name, PRICE_BILL_CHART.alt),
               Paragraph(_growth_story(timeline, scenario["baseline_task_type"]))]
    blocks += [Heading(2, "Agents use many times the compute of a chat answer"),
               Paragraph(_multiplier_story(timeline, scenario)),
               Image(MULTIPLIER_TIMELINE_CHART.file_name,
                     MULTIPLIER_TIMELINE_CHART.alt)]
    blocks += [Heading(2, "The Inference Flip"), Paragraph(_flip_story(timeline)),
               Image(FLIP_CHART.file_name, FLIP_CHART.alt),
               Paragraph(_share_story(timeline))]
    blocks += [Heading(2, "The budget, year by year"),
               Paragraph(_budget_story(timeline)),
               Image(BUDGET_CHART.file_name, BUDGET_CHART.alt), _budget_table(timeline)]
    if timeline.get("onprem_share") and any(
            period["onprem_share_frac"] > 0 for period in periods):
        blocks += [Heading(2, "Owning GPUs for the steady load"),
                   Paragraph(_owned_story(timeline))]
    blocks += [Heading(2, "How this was simulated"),
               Paragraph(_method(timeline, scenario)),
               Heading(2, "Data files"),
               FileLinks((("one row per month", PERIODS_FILE),
                          ("every figure above, as data", "summary.json"),
                          ("the scenario as run", "scenario.resolved.yaml")))]
    return blocks


def _opening(timeline: dict) -> str:
    return (f"This report follows {timeline['num_periods']} months, "
            f"{timeline['start']} to {timeline['end']}. Each month is simulated as "
            f"{_days(timeline['day_types'])} of AI work (every request, LLM call "
            "and tool call), then scaled up to the whole month. Training spend is "
            "the scenario's schedule; inference spend comes from the simulation.")


def _price_story(timeline: dict) -> str:
    periods = timeline["periods"]
    first, last = _at(periods, timeline["price_and_bill_from"]), _at(
        periods, timeline["price_and_bill_to"])
    if first is None or timeline["price_change_frac"] is None:
        return "No tokens were bought, so there is no price to follow."
    price, bill = timeline["price_change_frac"], timeline["bill_change_frac"]
    text = (f"From {first['month']} to {last['month']}, the price of the same mix "
            f"of tokens {_moved(price)} (from "
            f"{_price(first['basket_usd_per_mtok'])} to "
            f"{_price(last['basket_usd_per_mtok'])} per million tokens), while the "
            f"monthly inference bill {_moved(bill)} (from "
            f"{_money(first['inference_usd'])} to {_money(last['inference_usd'])}).")
    lists = [f"{name} from {_price(first['output_usd_per_mtok'][name])} to "
             f"{_price(last['output_usd_per_mtok'][name])}"
             for name in first["output_usd_per_mtok"]
             if name in last["output_usd_per_mtok"]]
    if lists:
        text += (" List prices per million output tokens moved at different "
                 "speeds: " + "; ".join(lists) + ".")
    return text


def _growth_story(timeline: dict, baseline: str | None) -> str:
    first, last = timeline["periods"][0], timeline["periods"][-1]
    text = (f"Cheaper tokens did not make a smaller bill, because far more tokens "
            f"were used: {_big(first['tokens'])} tokens in {first['month']}, "
            f"{_big(last['tokens'])} in {last['month']}.")
    if first["users"] is not None and last["users"] is not None:
        text += (f" More people used AI ({first['users']:,.0f} users, then "
                 f"{last['users']:,.0f})")
    else:
        text += " More work arrived"
    agents_first = _agent_share(first, baseline)
    agents_last = _agent_share(last, baseline)
    text += (f", and agents took over: {agents_first:.0%} of tasks went to "
             f"agents in {first['month']}, {agents_last:.0%} in {last['month']}.")
    return text


def _multiplier_story(timeline: dict, scenario: dict) -> str:
    last = timeline["periods"][-1]
    baseline = scenario["baseline_task_type"]
    parts = [f"a {name} task used {value:,.0f} times the tokens of a {baseline} "
             "answer" for name, value in last["compute_multiplier"].items()
             if value is not None and name != baseline]
    if not parts:
        return "No compute multiplier: the scenario names no baseline task type."
    return (f"In {last['month']}, " + "; ".join(parts) + ". An agent plans, calls "
            "tools and checks itself, and every step re-reads the whole growing "
            "context, so one agent task costs as much as many chat answers.")


def _flip_story(timeline: dict) -> str:
    flip = timeline["flip_index"]
    if flip is None:
        return ("In this timeline inference spend never passes training spend: "
                "there is no Inference Flip (none).")
    period = timeline["periods"][flip]
    return (f"In {period['month']}, month {flip + 1} of the timeline, the company "
            f"spent more on running AI ({_money(period['inference_usd'])} of "
            f"inference) than on training it ({_money(period['training_usd'])}) "
            "for the first time. That month is the Inference Flip, marked on the "
            "chart." + _after_flip(timeline["periods"], flip))


def _after_flip(periods: list[dict], flip: int) -> str:
    """A sentence when inference fell back below training after the Flip."""
    below = [i for i in range(flip + 1, len(periods))
             if periods[i]["inference_usd"] <= periods[i]["training_usd"]]
    if not below:
        return " Inference stayed ahead from then on."
    text = (f" Inference fell back below training in {periods[below[0]]['month']}"
            "")
    if below[-1] + 1 < len(periods):
        return text + f" and passed it for good in {periods[below[-1] + 1]['month']}."
    return text + " and was still behind at the end."


def _share_story(timeline: dict) -> str:
    shares = {year["year"]: year["inference_share_frac"] for year in timeline["years"]}
    told = [f"{shares[year]:.0%} in {year}" for year in STORY_YEARS
            if shares.get(year) is not None]
    if not told:
        told = [f"{share:.0%} in {year}" for year, share in shares.items()
                if share is not None]
    return ("Inference's share of the AI budget (inference / (inference + "
            "training)) was " + ", ".join(told) + ".")


def _budget_story(timeline: dict) -> str:
    years = timeline["years"]
    first, last = years[0], years[-1]
    return (f"In {first['year']} the company spent {_money(first['training_usd'])} "
            f"on training and {_money(first['inference_usd'])} on inference; in "
            f"{last['year']}, {_money(last['training_usd'])} and "
            f"{_money(last['inference_usd'])}.")


def _owned_story(timeline: dict) -> str:
    rule, periods = timeline["onprem_share"], timeline["periods"]
    start = next(p for p in periods if p["onprem_share_frac"] > 0)
    last = periods[-1]
    year = next((y for y in reversed(timeline["years"])
                 if y["owned_usd"] > 0 or y["moved_api_usd"] > 0),
                timeline["years"][-1])
    difference = year["owned_usd"] - year["moved_api_usd"]
    verdict = (f"saved {_money(-difference)}" if difference < 0
               else f"added {_money(difference)}")
    bill = year["inference_usd"]
    names = rule["from_backends"]
    listed = (" and ".join(names) if len(names) < 3
              else ", ".join(names[:-1]) + " and " + names[-1])
    text = (f"From {start['month']} a share of the calls to {listed} ran on the "
            "company's own "
            f"{rule['gpu']} servers ({rule['gpus_per_replica']} GPUs a replica) "
            f"instead, {last['onprem_share_frac']:.0%} of them in {last['month']}. "
            f"In {year['year']} the owned fleet cost {_money(year['owned_usd'])} "
            f"for calls the APIs would have charged "
            f"{_money(year['moved_api_usd'])} for: owning {verdict}")
    if bill > 0:
        text += f" ({abs(difference) / bill:.1%} of that year's inference bill)"
    text += (f". In {last['month']} the fleet had {last['owned_replicas']:,} "
             f"replicas, sized for the peak hour at "
             f"{rule['target_utilisation_frac']:.0%} busy and "
             f"{last['owned_busy_frac']:.0%} busy over the month.")
    if difference > 0:
        return text + (" An owned GPU costs nearly as much idle as busy, so at "
                       "this utilisation its tokens cost more than the API's.")
    return text + " At this load the owned fleet's tokens were cheaper than the API's."


def _budget_table(timeline: dict) -> Table:
    rows = tuple((year["year"], str(year["months"]), _money(year["training_usd"]),
                  _money(year["inference_usd"]),
                  "" if year["inference_share_frac"] is None
                  else f"{year['inference_share_frac']:.0%}")
                 for year in timeline["years"])
    return Table(("year", "months", "training", "inference", "inference share"),
                 rows, "lrrrr")


def _method(timeline: dict, scenario: dict) -> str:
    periods = timeline["periods"]
    largest = max(period["scale"] for period in periods)
    warned = sum(1 for period in periods if period["warnings"])
    two = timeline["day_types"] == "weekday_weekend"
    text = (f"Each month ran as {_days(timeline['day_types'])}, on its own "
            f"seed (derived from seed {scenario['seed']} by the month's name). "
            f"At most about {timeline['sample_tasks_per_day']:,.0f} tasks a "
            "day were simulated; a larger population was scaled down to "
            f"that sample and its bill multiplied back up (by up to "
            f"{largest:,.0f}x here). "
            + ("Two representative days leave out other" if two
               else "A representative day leaves out")
            + " day-to-day variation inside a month, and queues start empty each "
            "month.")
    if warned:
        text += (f" {warned} of {len(periods)} months carry warnings (often too few "
                 "slow tasks for a precise p95); they are in summary.json.")
    return text


def _days(day_types: str) -> str:
    """The simulated day(s) of a month, in words, for each `day_types` setting."""
    if day_types == "weekday_weekend":
        return ("two representative days, a weekday and a Saturday, weighted by "
                "the month's weekdays and weekend days")
    return "one representative day"


def _at(periods: list[dict], month: str | None) -> dict | None:
    return next((p for p in periods if p["month"] == month), None)


def _moved(change: float | None) -> str:
    if change is None:
        return "started from zero"
    if change < 0:
        return f"fell {-change:.0%}"
    return f"rose {change:,.0%}"


def _price(value: float | None) -> str:
    if value is None:
        return "no price"
    return f"${value:,.2f}" if value >= 0.1 else f"${value:.2g}"


def _big(count: float) -> str:
    for limit, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if count >= limit:
            return f"{count / limit:,.1f} {word}"
    return f"{count:,.0f}"


def _agent_share(period: dict, baseline: str | None) -> float:
    """Share of tasks that are not the baseline (chat) task type."""
    return 1.0 - period["task_shares"].get(baseline or "", 0.0)
