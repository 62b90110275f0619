"""The Gateway's blueprint, shared by its modules (each registers its own routes and handlers on it)."""
from pathlib import Path

from flask import Blueprint

STATIC = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("gateway", __name__, static_folder=str(STATIC), static_url_path="/g/static")
