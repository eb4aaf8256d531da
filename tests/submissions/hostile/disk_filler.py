"""Writes as much as it can into its own box (where TMPDIR points), 1 MiB at a time, up to
a ceiling of 1 GiB, reports how much it managed and deletes it.  Benign: only its own directory."""
import os


def probe():
    chunk, total = b"\0" * (1 << 20), 0
    path = os.path.join(os.environ.get("TMPDIR", "."), "fill")
    i = 0
    while total < (1 << 30):
        try:
            with open(f"{path}{i}", "wb") as fh:
                while total < (1 << 30) and fh.tell() < (32 << 20):
                    fh.write(chunk)
                    fh.flush()
                    total += len(chunk)
        except OSError:
            break
        i += 1
    for j in range(i + 1):  # room again for the results
        try:
            os.remove(f"{path}{j}")
        except OSError:
            pass
    return {"written_mb": float(total >> 20)}
