-- wrk script for bench/webhooks.py.
--   no script arguments: GET the URL (the baselines);
--   `-- FILE THREADS [PATH [IDLE]]`: POST the Stripe events in FILE, one per line (the
--   Stripe-Signature header, a tab, the raw body; signed by bench/webhooks.py just before the
--   phase, well within Stripe's 300 s tolerance), each once, to PATH (default /webhooks/stripe;
--   bench/peer_djstripe.py gives dj-stripe's); IDLE (default /healthz) is what a thread GETs
--   when it has no event to send. Line i goes to wrk thread i % THREADS; a thread that has sent
--   its share waits until wrk is stopped. done() prints one RESULT line of JSON for
--   bench/webhooks.py to read.
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  if args[1] == nil then return end
  local threads = tonumber(args[2])
  events, sent = {}, 0
  local path = args[3] or "/webhooks/stripe"
  idle = wrk.format("GET", args[4] or "/healthz")
  checking = id == 0
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == id then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      events[#events + 1] = wrk.format("POST", path,
        {["Content-Type"] = "application/json", ["Stripe-Signature"] = signature}, body)
    end
    n = n + 1
  end
end

function delay()
  -- A thread that has sent its share waits (bench/webhooks.py stops wrk with SIGINT once the
  -- database has every event); stopping the thread at once would drop requests other
  -- connections have built but not yet written.
  if events ~= nil and sent >= #events then return 3600000 end
  return 0
end

function request()
  if events == nil then return wrk.request() end
  if checking then
    -- wrk calls request() once on the first thread to check the script before any connection
    -- opens (script_verify_request), and discards what it gets: hand it no event.
    checking = false
    return idle
  end
  sent = sent + 1
  if sent > #events then return idle end  -- not sent before wrk is stopped (see delay)
  return events[sent]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
