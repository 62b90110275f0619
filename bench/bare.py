"""The bare baseline of the create benchmark, a process of its own with nothing of LinX imported.

Flask and peewee served by waitress (8 threads, as ``linx serve``): ``POST /rows`` parses the JSON body
and inserts one row keyed by a new UUID, in one transaction, on a connection that each serving thread
opens once and keeps. SQLite: WAL, ``synchronous=normal``, ``foreign_keys``, a busy timeout and
``BEGIN IMMEDIATE``, as LinX opens it. PostgreSQL: a connection per thread, kept, one transaction a row.

    python bench/bare.py --port 8001 --database sqlite:////tmp/bare.db [--threads 8]
"""
import argparse
import datetime as dt
import json
import uuid
from urllib.parse import urlparse

import peewee
import waitress
from flask import Flask, jsonify, request


def connect(url):
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return peewee.SqliteDatabase(parsed.path, timeout=10, pragmas={
            "journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1, "busy_timeout": 10_000})
    return peewee.PostgresqlDatabase(parsed.path.lstrip("/"), host=parsed.hostname, port=parsed.port or 5432,
                                     user=parsed.username, password=parsed.password)


def bare_app(url):
    database = connect(url)
    sqlite = isinstance(database, peewee.SqliteDatabase)

    class BareRow(peewee.Model):
        id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
        title = peewee.CharField()
        body = peewee.TextField()
        created_at = peewee.DateTimeField(default=dt.datetime.utcnow)

        class Meta:
            table_name = "bench_bare_row"

    BareRow.bind(database)
    database.create_tables([BareRow])
    database.close()
    app = Flask("bare")

    @app.post("/rows")
    def create():
        body = request.get_json()
        database.connect(reuse_if_open=True)  # peewee keeps one connection per thread
        with database.atomic("IMMEDIATE") if sqlite else database.atomic():
            row = BareRow.create(title=body["title"], body=json.dumps(body))
        return jsonify({"id": str(row.id), "title": row.title}), 201

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database", required=True, help="sqlite:///path or postgresql://user@host:port/name")
    args = parser.parse_args()
    waitress.serve(bare_app(args.database), host=args.host, port=args.port, threads=args.threads, ident="bare")


if __name__ == "__main__":
    main()
