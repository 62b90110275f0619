"""CSV export of a Portal list: what a spreadsheet would run as a formula is escaped (OWASP's CSV injection)."""
import csv
import io

from flask import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """``value`` as a CSV cell: a text starting with ``=``, ``+``, ``-``, ``@`` (or a tab or CR) gets a leading
    ``'``, so that a spreadsheet shows it rather than runs it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_response(name, header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
