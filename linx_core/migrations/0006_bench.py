"""The API keys' revocation epoch (issue 17): a counter the database itself bumps on every change that can
end a key's right to authenticate, so a process may keep the keys it has looked up for as long as the
counter has not moved (:func:`linx_core.services.businesses.authenticate` reads it on every request).

Triggers bump it, not the code: an UPDATE of ``api_key``'s ``revoked_at``, ``read_only``, ``key_hash`` or
``business_id``, a DELETE of a key, and any UPDATE or DELETE of a ``business`` (whose row the cache holds
too), whoever runs it (the service, ``linx business revoke-key``, an operator's SQL). ``last_used_at`` does
not bump it. A missing row reads as "no epoch": nothing is then kept.
"""
from peewee import *

KEY_COLUMNS = "revoked_at, read_only, key_hash, business_id"
BUMP = "UPDATE cache_epoch SET value = value + 1 WHERE name = 'api_keys'"
TRIGGERS = [("api_key", f"UPDATE OF {KEY_COLUMNS}"), ("api_key", "DELETE"), ("business", "UPDATE"),
            ("business", "DELETE")]


def _name(table, event):
    return f"{table}_{event.split()[0].lower()}_bumps_key_epoch"


def up(migrator, db):
    db.execute_sql('CREATE TABLE "cache_epoch" ("name" VARCHAR(32) NOT NULL PRIMARY KEY, "value" BIGINT NOT NULL)')
    db.execute_sql("INSERT INTO cache_epoch (name, value) VALUES ('api_keys', 0)")
    if isinstance(db, SqliteDatabase):
        for table, event in TRIGGERS:
            db.execute_sql(f'CREATE TRIGGER "{_name(table, event)}" AFTER {event} ON "{table}" BEGIN {BUMP}; END')
        return
    db.execute_sql("CREATE FUNCTION linx_bump_key_epoch() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {BUMP}; RETURN NULL; END $$")
    for table, event in TRIGGERS:
        db.execute_sql(f'CREATE TRIGGER "{_name(table, event)}" AFTER {event} ON "{table}" '
                       "FOR EACH STATEMENT EXECUTE FUNCTION linx_bump_key_epoch()")


def down(migrator, db):
    for table, event in TRIGGERS:
        db.execute_sql(f'DROP TRIGGER IF EXISTS "{_name(table, event)}"' +
                       ("" if isinstance(db, SqliteDatabase) else f' ON "{table}"'))
    if not isinstance(db, SqliteDatabase):
        db.execute_sql("DROP FUNCTION IF EXISTS linx_bump_key_epoch()")
    db.execute_sql('DROP TABLE "cache_epoch"')
