"""gunicorn settings for the web process: `gunicorn -c docker/gunicorn.conf.py 'service:create_app()'`.

Every value can be overridden by the environment variable named beside it.
"""
import multiprocessing
import os

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Threads let one process keep connections alive and wait on Stripe and the database at once.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
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
access_log_format = (
    '{"event":"http.access","remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":"%(B)s","duration_ms":%(M)s,"request_id":"%({x-request-id}o)s"}'
)
