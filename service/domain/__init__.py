"""The only code that changes state. Functions flush; the caller's request or command commits."""
