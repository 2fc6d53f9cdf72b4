"""Render report blocks as Markdown (report.md) or self-contained HTML.

Both renderers take the same blocks, so the two reports say the same thing.
The HTML fetches nothing: charts are inline base64 PNGs, the CSS is inline
and uses the reader's system fonts; tables scroll sideways on narrow screens
and print in full. Every text cell is escaped (html.escape, or Markdown
backslash escapes), never trusted as markup.
Type grows on wide screens (a projector) and shrinks on a phone; print CSS
keeps figures and tables whole on a page.
Limitations: the HTML has no navigation or interactive charts.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping

from simulator.report.blocks import Block, FileLinks, Heading, Image, Paragraph, Table

# Markdown-active characters; `<` and `&` only where they could open a tag or an
# entity, `_` only at a word edge (intraword, as in tool_agent, it is literal).
_MD_SPECIAL = re.compile(
    r"[\\`*\[\]>|]|[<&](?=[A-Za-z/!?#])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_CSS = """
:root { color-scheme: light; }
body { margin: 0; color: #1b1f24; background: #fff;
  font: 18px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
p { max-width: 46rem; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 1rem 0; }
h2 { font-size: 1.45rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem;
  border-bottom: 2px solid #d0d7de; }
h3 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
.table-wrap { overflow-x: auto; margin: .8rem 0 1.2rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .35rem .65rem; border-bottom: 1px solid #d0d7de;
  white-space: nowrap; text-align: left; }
thead th { background: #f2f4f7; border-bottom: 2px solid #8c959f; }
.r { text-align: right; }
tfoot td { font-weight: 700; border-top: 2px solid #57606a; }
figure { margin: 1.2rem 0 1.8rem; }
img { display: block; max-width: 100%; height: auto; }
figcaption { color: #57606a; font-size: .9rem; margin-top: .3rem; }
@media (min-width: 90rem) { body { font-size: 21px; } main { max-width: 72rem; } }
@media (max-width: 40rem) { body { font-size: 16px; } main { padding: .6rem; }
  h1 { font-size: 1.5rem; } }
@media print {
  @page { margin: 15mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  p { orphans: 3; widows: 3; }
  .table-wrap { overflow: visible; }
  table, figure { break-inside: avoid; }
  a { color: inherit; }
}
"""


def render_markdown(blocks: list[Block]) -> str:
    """The blocks as a Markdown document."""
    parts = [_markdown_block(block) for block in blocks]
    return "\n\n".join(parts) + "\n"


def render_html(blocks: list[Block], images: Mapping[str, bytes]) -> str:
    """The blocks as one HTML page; `images` maps chart file names to PNG bytes."""
    title = next((block.text for block in blocks
                  if isinstance(block, Heading) and block.level == 1), "flipsim report")
    body = "\n".join(_html_block(block, images) for block in blocks)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, "
            "initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n"
            f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def _markdown_block(block: Block) -> str:
    """One block as Markdown."""
    if isinstance(block, Heading):
        return "#" * block.level + " " + _md(block.text)
    if isinstance(block, Paragraph):
        return _md(block.text)
    if isinstance(block, Table):
        return _markdown_table(block)
    if isinstance(block, Image):
        return f"![{_md(block.alt)}]({block.file_name})"
    if isinstance(block, FileLinks):
        return "\n".join(f"- [{_md(name)}]({name}): {_md(label)}"
                         for label, name in block.links)
    raise TypeError(f"unknown report block {type(block).__name__}")


def _markdown_table(table: Table) -> str:
    """A pipe table; the total row, if any, in bold."""
    rule = ["---:" if side == "r" else "---" for side in table.align]
    rows = [[_md(cell) for cell in table.header], rule]
    rows += [[_md(cell) for cell in cells] for cells in table.rows]
    if table.total is not None:
        rows.append([f"**{_md(cell)}**" if cell else "" for cell in table.total])
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def _md(text: str) -> str:
    """Plain text escaped for Markdown, on one line."""
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(lambda match: "\\" + match.group(0), text)


def _html_block(block: Block, images: Mapping[str, bytes]) -> str:
    """One block as HTML."""
    if isinstance(block, Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Image):
        data = base64.b64encode(images[block.file_name]).decode("ascii")
        alt = html.escape(block.alt)
        return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{alt}\">"
                f"<figcaption>{alt}</figcaption></figure>")
    if isinstance(block, FileLinks):
        items = "".join(f"<li><a href=\"{html.escape(name)}\">{html.escape(name)}"
                        f"</a>: {html.escape(label)}</li>"
                        for label, name in block.links)
        return f"<ul>{items}</ul>"
    raise TypeError(f"unknown report block {type(block).__name__}")


def _html_table(table: Table) -> str:
    """A table in a sideways-scrolling wrapper; the total row in the footer."""
    parts = ["<div class=\"table-wrap\"><table>",
             f"<thead>{_html_row(table.header, table.align, 'th')}</thead>",
             "<tbody>" + "\n".join(_html_row(cells, table.align, "td")
                                   for cells in table.rows) + "</tbody>"]
    if table.total is not None:
        parts.append(f"<tfoot>{_html_row(table.total, table.align, 'td')}</tfoot>")
    parts.append("</table></div>")
    return "\n".join(parts)


def _html_row(cells: tuple[str, ...], align: str, tag: str) -> str:
    """One table row; right-aligned cells get the `r` class."""
    found = []
    for cell, side in zip(cells, align, strict=True):
        opening = f'<{tag} class="r">' if side == "r" else f"<{tag}>"
        found.append(f"{opening}{html.escape(cell)}</{tag}>")
    return "<tr>" + "".join(found) + "</tr>"
