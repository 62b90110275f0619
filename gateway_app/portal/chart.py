"""The Home page's chart: workflows by status, as an SVG drawn on the server (no script, no outside asset)."""
from markupsafe import Markup, escape

WIDTH, BAR, GAP, LABEL = 320, 22, 8, 110


def bars(title, rows):
    """An accessible horizontal bar chart of ``rows`` (``[(label, count)]``) titled ``title``."""
    most = max([count for _, count in rows] + [1])
    height = len(rows) * (BAR + GAP) + GAP
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{escape(title)}</title>']
    for i, (label, count) in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        width = 0 if not count else max(2, round((WIDTH - LABEL - 40) * count / most))
        parts.append(f'<text x="0" y="{y + 16}" font-size="13" fill="#16181d">{escape(label)}</text>'
                     f'<rect x="{LABEL}" y="{y}" width="{width}" height="{BAR}" fill="#1f4fbf"></rect>'
                     f'<text x="{LABEL + width + 6}" y="{y + 16}" font-size="13" fill="#16181d">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
