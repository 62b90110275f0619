"""The Portal's blueprint, shared by its modules."""
from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")
