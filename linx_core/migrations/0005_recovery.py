"""Recovery of an ended workflow (issue 13, section 2).

- ``workflow.recovered_from``: the workflow this one was made to replace (unique: a workflow is recovered once);
- ``workflow.recovered_by``: on the old workflow, the one that replaced it.

Both are nullable, so rows written by processes still on the old code during a rolling deploy need nothing.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('workflow', 'recovered_from', UUIDField(null=True)),
        migrator.add_column('workflow', 'recovered_by', UUIDField(null=True)),
        migrator.add_index('workflow', ('recovered_from',), True),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('workflow', 'workflow_recovered_from'),
        migrator.drop_column('workflow', 'recovered_by'),
        migrator.drop_column('workflow', 'recovered_from'),
    )
