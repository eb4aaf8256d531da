"""Ignores SIGTERM/SIGINT/SIGHUP and sleeps (RLIMIT_CPU does not stop sleep)."""
import signal
import time

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)


def forward_pass(X, wh, theta):
    while True:
        time.sleep(1000)
