"""The classroom page of `flipsim serve`: one self-contained HTML document
(styles and script inline, nothing fetched from elsewhere) whose sliders ask
the local server for a new preview and redraw its charts.
"""

from __future__ import annotations

import html


def page(title: str, defaults: dict[str, float | None], sliders: tuple) -> str:
    """The classroom page: sliders (disabled where `defaults` has None), two
    charts, the Flip in words."""
    rows = []
    for name, label, low, high, step in sliders:
        value = defaults.get(name)
        disabled = " disabled" if value is None else ""
        note = ("" if value is not None else
                " <small>(this scenario has nothing this slider changes)</small>")
        rows.append(
            f'<label for="{name}">{html.escape(label)}{note}</label>'
            f'<div class="row"><input type="range" id="{name}" name="{name}" '
            f'min="{low}" max="{high}" step="{step}" value="{value or low}"'
            f'{disabled}><output id="{name}-value">{value or low:g}</output></div>')
    return (_PAGE.replace("@TITLE@", html.escape(title))
            .replace("@SLIDERS@", "\n".join(rows)))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@: the Inference Flip, live</title>
<style>
body { margin: 0; color: #1b1f24; background: #fff;
  font: 20px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 78rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 2rem; margin: .5rem 0 1rem; }
.layout { display: grid; grid-template-columns: 22rem 1fr; gap: 1.5rem; }
.controls label { display: block; font-weight: 600; margin-top: .9rem; }
.row { display: flex; gap: .6rem; align-items: center; }
input[type=range] { flex: 1; min-height: 2rem; }
output { min-width: 3.2rem; text-align: right; font-variant-numeric: tabular-nums; }
#flip { font-size: 1.5rem; font-weight: 700; margin: .4rem 0; }
#status { color: #57606a; }
img { display: block; max-width: 100%; height: auto; margin: .6rem 0 1.2rem; }
@media (max-width: 60rem) { .layout { grid-template-columns: 1fr; }
  body { font-size: 17px; } }
@media print { .controls { display: none; } .layout { display: block; } }
</style>
</head>
<body>
<main>
<h1>The Inference Flip: move a slider</h1>
<div class="layout">
<section class="controls">
@SLIDERS@
<p id="status">Simulating...</p>
</section>
<section>
<p id="flip">&nbsp;</p>
<p id="shares">&nbsp;</p>
<img id="chart-flip" alt="Inference and training spend per month, the Flip marked">
<img id="chart-price" alt="Price per 1M tokens against the monthly inference bill">
</section>
</div>
</main>
<script>
"use strict";
let pending = null, running = false, again = false;
function values() {
  const query = new URLSearchParams();
  for (const input of document.querySelectorAll("input[type=range]")) {
    document.getElementById(input.id + "-value").textContent = input.value;
    if (!input.disabled) query.set(input.id, input.value);
  }
  return query;
}
async function refresh() {
  if (running) { again = true; return; }
  running = true;
  document.getElementById("status").textContent = "Simulating...";
  try {
    const started = performance.now();
    const response = await fetch("/charts.json?" + values().toString());
    const result = await response.json();
    if (!response.ok) throw new Error(result.error || response.statusText);
    document.getElementById("chart-flip").src = result.charts.flip;
    document.getElementById("chart-price").src = result.charts.price;
    document.getElementById("flip").textContent = result.flip_period
      ? "The Flip: " + result.flip_period : "No Flip in this timeline";
    const shares = Object.entries(result.inference_share_by_year)
      .filter(([, share]) => share !== null)
      .map(([year, share]) => year + ": " + Math.round(share * 100) + "%");
    document.getElementById("shares").textContent =
      "Inference share of AI spend, " + shares.join(", ");
    document.getElementById("status").textContent = "Updated in " +
      ((performance.now() - started) / 1000).toFixed(1) + " s (preview: a small " +
      "sample, one month in three).";
  } catch (error) {
    document.getElementById("status").textContent =
      "Could not simulate: " + error.message;
  } finally {
    running = false;
    if (again) { again = false; refresh(); }
  }
}
function later() { clearTimeout(pending); pending = setTimeout(refresh, 150); }
for (const input of document.querySelectorAll("input[type=range]")) {
  input.addEventListener("input", () => { values(); later(); });
  input.addEventListener("change", later);
}
refresh();
</script>
</body>
</html>
"""
