"""The baseline of the issue + export benchmark: the same work as plainly as Python does it.

``python bench/plain_issue.py DB_FILE SURVEY_ID OUT.csv``: read the segment's contacts with ``sqlite3``, insert
one link row each with ``executemany``, sign each token with one ``hmac.digest`` and base64, write the CSV with
``csv.writer``. No checks, no audit rows, no progress: the floor the sidecar is compared with.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import sqlite3
import sys
from datetime import UTC, datetime

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(number: int) -> str:
    digits = []
    while True:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
        if number == 0:
            return "".join(reversed(digits))


def main(path: str, survey_id: str, out: str) -> None:
    key = hashlib.sha256(b"plain-baseline-key").digest()
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    connection = sqlite3.connect(path)
    contacts = connection.execute(
        "SELECT c.id, c.host_id, c.custom_id, c.first_name, c.last_name, c.email FROM contacts c"
        " JOIN segment_members m ON m.contact_id = c.id WHERE m.segment_id = 'all' ORDER BY c.id DESC").fetchall()
    connection.executemany(
        "INSERT INTO links (survey_id, contact_id, created_at, max_uses, use_count, open_count, is_current)"
        " VALUES (?, ?, ?, 1, 0, 0, 1)", ((survey_id, row[0], now) for row in contacts))
    connection.commit()
    ids = dict(connection.execute("SELECT contact_id, id FROM links WHERE survey_id = ?", (survey_id,)))
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for contact_id, host_id, custom_id, first, last, email in contacts:
            encoded = base62(ids[contact_id])
            mac = hmac.digest(key, f"{survey_id}\x00{encoded}".encode(), "sha256")
            token = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
            writer.writerow((host_id, custom_id, first, last, email, f"https://l.example.com/c/{encoded}.{token}"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
