"""gunicorn settings for the web process: `gunicorn -c docker/gunicorn.conf.py 'service:create_app()'`.

Every value can be overridden by the environment variable named beside it.
"""
import os

from gunicorn.glogging import Logger

from service.config import default_web_concurrency
from service.logs import redact_secrets

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# The service reads WEB_CONCURRENCY too: production refuses per-process (memory://) rate limits with more than one.
workers = int(os.environ.get("WEB_CONCURRENCY", default_web_concurrency()))
# Threads let one process keep connections alive and wait on Stripe and the database at once.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Stripe waits up to 20 s for a webhook answer; a request past 30 s is stuck, not slow.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, with jitter so they don't all restart together.
max_requests = 5000
max_requests_jitter = 500
# Only the load balancer in front may set X-Forwarded-For/Proto (comma-separated addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Refuse absurd request lines and headers before Flask sees them.
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
# One JSON line per request, carrying the request id the service puts on every response.
# Tokens in paths (sign-in links, newsletter links, gift redemptions) and in the Referer are
# blanked by the same function as the service's own logs, so the access log holds no bearer link.


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_secrets(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = RedactingLogger
access_log_format = (
    '{"event":"http.access","remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":"%(B)s","duration_ms":%(M)s,"request_id":"%({x-request-id}o)s"}'
)
