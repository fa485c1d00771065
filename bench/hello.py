"""Flask's hello world: the baseline bench/webhooks.py measures every path against, under the same
gunicorn settings in the same run (`gunicorn bench.hello:app`)."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
