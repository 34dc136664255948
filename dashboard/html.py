"""The dashboard page shell: inline CSS, a few lines of vanilla JavaScript for the tabs,
and the small helpers every tab uses (escaped tables, number formats, "no data" notes).

Why one self-contained file: the page must open from disk with no network (offline
machines, CI artefacts, mail attachments), so nothing is loaded from a URL. A
Content-Security-Policy forbids every fetch and allows only the one script whose hash the
page carries: even if some text escaped `html.escape`, an injected script would not run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Collection, Sequence
from html import escape

from dashboard.model import DashboardData

DASH = "–"


class Raw(str):
    """Already-safe HTML (built from escaped parts); `table` inserts it as is."""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def pct(value: float | None, digits: int = 1) -> str:
    """A 0..1 share as a percentage."""
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def cell(value: object) -> str:
    if isinstance(value, Raw):
        return value
    if value is None:
        return DASH
    return esc(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, caption: str = "",
          numeric_from: int = 1, text_cols: Collection[int] = (), css: str = "") -> str:
    """An HTML table; every cell is escaped unless it is `Raw`. Columns from `numeric_from`
    on, except `text_cols`, are right-aligned (numbers line up)."""
    right = [i >= numeric_from and i not in text_cols for i in range(len(headers))]
    head = "".join(f'<th{" class=num" if right[i] else ""}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i < len(right) and right[i] else ""}>{cell(v)}</td>'
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    cls = f' class="{esc(css)}"' if css else ""
    return f"<table{cls}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def empty(what: str, command: str) -> str:
    """The tab's clear statement that its source file or phase has not been produced yet."""
    return f'<p class="empty">No data yet for {esc(what)}: run <code>{esc(command)}</code>.</p>'


def section(title: str, *parts: str) -> str:
    return f"<h2>{esc(title)}</h2>" + "".join(parts)


def para(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def cards(items: Sequence[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="label">{esc(k)}</div><div class="value">{esc(v)}</div></div>'
        for k, v in items) + "</div>"


CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#243447;color:#fff;padding:12px 20px}
header h1{margin:0;font-size:20px} header p{margin:4px 0 0;font-size:12px;color:#cdd}
nav{display:flex;flex-wrap:wrap;gap:4px;padding:8px 20px;background:#e8ecf0;position:sticky;top:0}
nav button{border:1px solid #b8c2cc;background:#fff;padding:6px 12px;border-radius:4px;cursor:pointer}
nav button[aria-selected=true]{background:#243447;color:#fff;border-color:#243447}
main{padding:8px 20px 40px} section.tab{max-width:1200px}
h2{font-size:17px;margin:22px 0 8px} h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 14px;background:#fff;font-size:13px}
th,td{border:1px solid #d5dbe1;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:bold;padding:4px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{background:#fff;border:1px solid #d5dbe1;border-radius:6px;padding:8px 14px;min-width:120px}
.card .label{font-size:11px;color:#667;text-transform:uppercase} .card .value{font-size:20px}
.empty{background:#fff6e0;border:1px solid #f0d89a;padding:8px 12px;border-radius:4px}
.note{color:#555;font-size:12px} code{background:#eef1f4;padding:1px 4px;border-radius:3px}
svg.chart{background:#fff;border:1px solid #d5dbe1;margin:6px 0 14px;max-width:100%;height:auto;display:block}
.charts{display:flex;flex-wrap:wrap;gap:12px}
"""

# Tabs: a button per tab (data-tab=key) and a section (id=tab-<key>); only one is shown.
JS = """(function(){
var buttons=document.querySelectorAll('nav button[data-tab]');
function show(key){
  if(!document.getElementById('tab-'+key)){key='overview';}
  document.querySelectorAll('section.tab').forEach(function(s){s.hidden=(s.id!=='tab-'+key);});
  buttons.forEach(function(b){b.setAttribute('aria-selected',b.getAttribute('data-tab')===key?'true':'false');});
}
buttons.forEach(function(b){b.addEventListener('click',function(){
  var key=b.getAttribute('data-tab'); show(key);
  try{history.replaceState(null,'','#'+key);}catch(e){}
});});
window.addEventListener('hashchange',function(){show(location.hash.slice(1)||'overview');});
show(location.hash.slice(1)||'overview');
})();"""

TabRenderer = Callable[[DashboardData], str]


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def page(data: DashboardData, tabs: Sequence[tuple[str, str, TabRenderer]]) -> str:
    """The whole document. `tabs` are (key, button title, renderer); the first is shown
    when scripts cannot run, the others start hidden."""
    nav = "".join(f'<button type="button" data-tab="{esc(key)}" aria-controls="tab-{esc(key)}" '
                  f'aria-selected="{"true" if i == 0 else "false"}">{esc(title)}</button>'
                  for i, (key, title, _) in enumerate(tabs))
    sections = "".join(f'<section class="tab" id="tab-{esc(key)}"{" hidden" if i else ""}>'
                       f"<h2>{esc(title)}</h2>{render(data)}</section>"
                       for i, (key, title, render) in enumerate(tabs))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{esc(_csp())}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>fleetbench dashboard</title><style>{CSS}</style></head><body>"
            f"<header><h1>fleetbench dashboard</h1><p>{esc(data.runs_dir)} · generated {esc(data.generated_at)}"
            f"</p></header><nav>{nav}</nav><main>{sections}</main><script>{JS}</script></body></html>\n")
