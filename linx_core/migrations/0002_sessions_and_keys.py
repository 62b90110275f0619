"""Revocable Gateway sessions and labelled API keys (issue 12).

- ``workflow.session_epoch``: bumped by a resend, a cancel and a passcode lockout, to end the sessions
  bound before;
- ``api_key.label``, ``read_only`` and ``last_used_at``, and one active key per label and business
  (a partial unique index: a revoked key's label may be reused).

The NOT NULL columns carry a database default (``DEFAULT 0``, ``DEFAULT false``), not only peewee's
Python-side one: during a rolling deploy, processes still on the old code insert rows that do not name
them, and those inserts must not fail.
"""
from peewee import *
from linx_core.store.fields import UTCDateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('workflow', 'session_epoch', IntegerField(default=0, constraints=[SQL('DEFAULT 0')])),
        migrator.add_column('api_key', 'label', CharField(max_length=64, null=True)),
        migrator.add_column('api_key', 'read_only', BooleanField(default=False, constraints=[SQL('DEFAULT false')])),
        migrator.add_column('api_key', 'last_used_at', UTCDateTimeField(null=True)),
    )
    db.execute_sql('CREATE UNIQUE INDEX "api_key_active_label" ON "api_key" ("business_id", "label") '
                   'WHERE "revoked_at" IS NULL')


def down(migrator, db):
    db.execute_sql('DROP INDEX "api_key_active_label"')
    migrator.migrate(
        migrator.drop_column('api_key', 'last_used_at'),
        migrator.drop_column('api_key', 'read_only'),
        migrator.drop_column('api_key', 'label'),
        migrator.drop_column('workflow', 'session_epoch'),
    )
