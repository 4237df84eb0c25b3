"""The floor for the load benchmark: a bare Flask app (one JSON line, no database), served by
scripts/prod.py exactly as the hotline is (``HOTLINE_WSGI_APP=scripts.bare_app:app``)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/bare")
def bare() -> object:
    return jsonify({"status": "ok"})


@app.get("/healthz")
def healthz() -> object:
    return jsonify({"status": "ok"})
