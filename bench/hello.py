"""The baseline of the HTTP benchmarks: the smallest Flask app answering the same routes on the same server."""

from flask import Flask, jsonify, redirect

app = Flask(__name__)


@app.get("/c/<path:token>")
def open_link(token: str):  # type: ignore[no-untyped-def]
    """A hello-world 302."""
    return redirect(f"https://forms.example.com/s/x?plink={token}", code=302)


@app.post("/webhooks/formbricks")
def receive():  # type: ignore[no-untyped-def]
    """A hello-world POST."""
    return jsonify({"status": "ok"})


@app.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """What the harness waits for before measuring."""
    return jsonify({"status": "ok"})
