"""One waitress server process for both sides of the create benchmark.

It serves the LinX app exactly as ``linx serve --no-worker`` does (same runtime, app, logging and
waitress settings) and mounts the baseline at ``/bare``: a Flask app whose one endpoint parses the JSON
body and inserts one row through peewee, into a table of its own in the same database, opened by the
same ``open_database``. Same process, same threads, same client: the ratio measures LinX's own work.

    python bench/server.py --port 8000 [--threads 8]     (settings from LINX_* as for ``linx serve``)
"""
import argparse
import datetime as dt
import json
import uuid

import peewee
import waitress
from flask import Flask, jsonify, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from gateway_app import create_app
from linx_core.boot import runtime
from linx_core.logging_setup import configure
from linx_core.store import open_database


def bare_app(url):
    """The baseline: one JSON body in, one row out, through peewee, nothing else."""
    database = open_database(url)

    class BareRow(peewee.Model):
        id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
        title = peewee.CharField()
        body = peewee.TextField()
        created_at = peewee.DateTimeField(default=dt.datetime.utcnow)

        class Meta:
            table_name = "bench_bare_row"

    BareRow.bind(database)
    with database.connection_context():
        database.create_tables([BareRow])
    app = Flask("bare")

    @app.post("/rows")
    def create():
        body = request.get_json()
        with database.connection_context(), database.atomic():
            row = BareRow.create(title=body["title"], body=json.dumps(body))
        return jsonify({"id": str(row.id), "title": row.title}), 201

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    rt = runtime()
    configure(rt.settings)
    app = create_app(runtime=rt)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/bare": bare_app(rt.settings.database_url)})
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="linx")


if __name__ == "__main__":
    main()
