"""A contact file's import from the command line: the whole file checked first, then written batch by batch.

On SQLite each batch is a transaction of its own (``import_turns``), so that a long import lets the server's
writers in. The promise that a refused file changes nothing is kept by reading the file twice: the first
reading checks every contact as the import would (its text, its lengths, its segments, ids given twice) and
writes nothing; only a file found whole is read again and written. Ids given twice are found with a hash of each
id (8 bytes a contact, kept in buckets by the hash's low bits): a hash seen twice in a bucket is looked at once
the reading is over, and only then is the file read once more for those ids, to tell a real repeat (named by
both its lines) from two ids that share a hash.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from adapters.base import Contact as SourceContact
from adapters.base import Segment as SourceSegment
from plugin.db import DbSession
from plugin.services.contacts.contact_batches import duplicate
from plugin.services.contacts.contacts import ImportResult, check_contact, check_segments, import_contacts, quick_check
from plugin.services.contacts.import_turns import writes_for

BUCKETS = 256  # (a power of two) of the ids' hashes: the set that finds a hash seen twice holds one bucket at a time

Reader = Callable[[str], Iterable[SourceContact]]  # the file's contacts, read afresh, for a pass named so


def import_file(session: DbSession, read: Reader, segments: Callable[[], Sequence[SourceSegment]], now: datetime,
                actor: str, *, replace: bool = False, text_checked: bool = False) -> ImportResult:
    """Check every contact ``read`` gives, then import them (``import_contacts``) and commit.

    ``read(label)`` reads the file from its start (``label`` names the pass, for a progress bar); ``segments()``
    gives the segments the file names, once it has been read to its end. A refused file changes nothing. A
    failure while writing leaves the batches committed so far and says how many (a note on the exception):
    running the same import again completes it.
    """
    total = check_contacts(read, text_checked)
    named = segments()
    check_segments(session, named, "static")
    session.rollback()  # what the checks read: no transaction stays open beside the writing
    with session.get_bind().engine.connect() as connection, Session(bind=connection) as own:
        writes = writes_for(own)  # one connection throughout: the import's scratch table lives in it
        try:
            result = import_contacts(own, read("importing contacts"), named, now, actor, replace=replace,
                                     checked=True, writes=writes)
            own.commit()
        except BaseException as exc:
            own.rollback()
            if (note := writes.stopped(total, "contacts")) is not None:
                exc.add_note(note)
            raise
    return result


def check_contacts(read: Reader, text_checked: bool) -> int:
    """Read every contact and check it as the import does, writing nothing; how many there are. The first error
    is raised (SourceFormatError naming its line, InvalidInput naming the contact), and ids given twice."""
    buckets = [array("q") for _ in range(BUCKETS)]
    quick = quick_check(text_checked)
    count = 0
    for contact in read("checking contacts"):
        if not quick(contact):
            check_contact(contact)
        mark = hash(contact.host_id)
        buckets[mark & (BUCKETS - 1)].append(mark)
        count += 1
    repeated: set[int] = set()
    for bucket in buckets:
        if len(set(bucket)) < len(bucket):
            repeated.update(mark for mark, times in Counter(bucket).items() if times > 1)
    if repeated:
        _name_repeat(read("finding the id given twice"), repeated)
    return count


def _name_repeat(contacts: Iterable[SourceContact], marks: set[int]) -> None:
    """Raise for the first contact whose id an earlier one gave, among those whose id's hash is in ``marks``."""
    lines: dict[str, int | None] = {}
    for contact in contacts:
        if hash(contact.host_id) in marks:
            if contact.host_id in lines:
                raise duplicate(contact, lines[contact.host_id])
            lines[contact.host_id] = contact.line
