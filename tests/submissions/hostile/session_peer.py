"""For the session fallback: waits until another box exists beside its own, then tries to
read that box's submission.py and to drop a marker file into its out/.  Benign: the
marker goes into a sandbox directory that the grader deletes."""
import glob
import os
import time


def probe():
    box = os.path.dirname(os.path.abspath(__file__))
    parent = os.path.dirname(os.path.dirname(box))
    peers = []
    end = time.monotonic() + 2.5
    while not peers and time.monotonic() < end:
        peers = [p for p in glob.glob(os.path.join(parent, "*", "box")) if p != box]
        time.sleep(0.05)
    read = wrote = 0
    for peer in peers:
        try:
            with open(os.path.join(peer, "submission.py"), "rb") as fh:
                read += bool(fh.read(10))
        except OSError:
            pass
        try:
            with open(os.path.join(peer, "out", "marker-from-peer"), "w") as fh:
                fh.write("x")
            wrote += 1
        except OSError:
            pass
    time.sleep(0.5)  # stay alive while the peer looks at us
    return {"uid": float(os.getuid()), "peers": float(len(peers)), "read": float(read), "wrote": float(wrote)}
