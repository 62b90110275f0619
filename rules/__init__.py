"""The default LinX rule files, installed with LinX as package data.

Admins edit the ``*.yaml`` files in this folder (or point ``LINX_RULES_DIR`` at a
copy); see README.md, "Editing the rules".
"""
