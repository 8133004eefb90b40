"""The vault format: round trips, streaming reads, and every kind of damage caught by name."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.vault import (
    MAGIC,
    HeaderError,
    HeaderMismatchError,
    Identity,
    IntegrityError,
    NotARecipientError,
    NotAVaultError,
    ReorderedError,
    SuiteId,
    TamperedError,
    TruncatedError,
    UnknownSuiteError,
    UnsupportedVersionError,
    VaultError,
    VaultReader,
    VaultWriter,
    open_bytes,
    recover,
    seal_bytes,
)
from kiosk.vault.header import BINDING_LENGTH, read_header

SEGMENT = 1024
CHUNK = SEGMENT + 16
ME = Identity.generate()  # hybrid, the default
HQ = Identity.generate(SuiteId.X25519)
STRANGER = Identity.generate()


def seal(data: bytes, *recipients: Identity, segment_size: int = SEGMENT) -> bytes:
    return seal_bytes(data, [r.recipient for r in (recipients or (ME,))],
                      segment_size=segment_size)


def header_length(blob: bytes) -> int:
    return read_header(io.BytesIO(blob)).length + BINDING_LENGTH


def opened(blob: bytes, identity: Identity = ME) -> bytes:
    return open_bytes(blob, [identity])


# --- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT,
                                  3 * SEGMENT + 7, 50 * SEGMENT])
def test_round_trip_at_segment_boundaries(size: int) -> None:
    data = os.urandom(size)
    blob = seal(data, ME, HQ)
    assert opened(blob) == data
    assert opened(blob, HQ) == data  # every recipient can open it, whatever its suite


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=6 * SEGMENT), cuts=st.lists(st.integers(0, 6 * SEGMENT)),
       log2=st.sampled_from([10, 11, 12]))
def test_round_trip_whatever_the_write_pattern(data: bytes, cuts: list[int], log2: int) -> None:
    sink = io.BytesIO()
    with VaultWriter(sink, [ME.recipient], segment_size=1 << log2) as writer:
        start = 0
        for cut in sorted(c for c in cuts if c <= len(data)):
            writer.write(data[start:cut])
            start = cut
        writer.write(data[start:])
    assert opened(sink.getvalue()) == data


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=5 * SEGMENT), ranges=st.lists(
    st.tuples(st.integers(0, 6 * SEGMENT), st.integers(0, 3 * SEGMENT)), max_size=8))
def test_reading_any_range_decrypts_just_that_range(data: bytes,
                                                    ranges: list[tuple[int, int]]) -> None:
    reader = VaultReader(io.BytesIO(seal(data)), [ME])
    assert reader.size == len(data)
    for offset, length in ranges:
        assert reader.read_range(offset, length) == data[offset:offset + length]
        reader.seek(offset)
        assert reader.read(length) == data[offset:offset + length]


def test_reader_is_a_normal_binary_stream() -> None:
    data = bytes(range(256)) * 20
    reader = io.BufferedReader(VaultReader(io.BytesIO(seal(data)), [ME]))
    assert reader.read(10) == data[:10]
    reader.seek(-5, os.SEEK_END)
    assert reader.read() == data[-5:]


def test_files_written_twice_differ_but_open_the_same() -> None:
    first, second = seal(b"same words"), seal(b"same words")
    assert first != second  # a fresh data key and salt each time
    assert opened(first) == opened(second) == b"same words"


def test_no_plaintext_in_the_ciphertext() -> None:
    secret = b"Priya Sharma, priya@example.com" * 50
    assert b"Priya" not in seal(secret)


def test_writer_refuses_bad_parameters() -> None:
    with pytest.raises(ValueError, match="power of two"):
        VaultWriter(io.BytesIO(), [ME.recipient], segment_size=1000)
    with pytest.raises(ValueError, match="at least one recipient"):
        VaultWriter(io.BytesIO(), [])
    writer = VaultWriter(io.BytesIO(), [ME.recipient])
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"x")


# --- bad input --------------------------------------------------------------------------------

def test_not_a_vault() -> None:
    with pytest.raises(NotAVaultError):
        opened(b"RIFF....WAVEfmt " + bytes(100))
    with pytest.raises(NotAVaultError):
        opened(b"")


def test_newer_version() -> None:
    blob = bytearray(seal(b"x"))
    blob[len(MAGIC)] = 2
    with pytest.raises(UnsupportedVersionError, match="version 2.*update the kiosk"):
        opened(bytes(blob))


def test_unknown_suite() -> None:
    blob = bytearray(seal(b"x"))
    blob[len(MAGIC) + 4 + 32] = 9  # the first stanza's suite byte
    with pytest.raises(UnknownSuiteError, match="unknown suite 9"):
        opened(bytes(blob))


def test_not_sealed_to_us() -> None:
    with pytest.raises(NotARecipientError, match=ME.key_id.hex()):
        opened(seal(b"x", ME), STRANGER)


def test_garbage_after_the_magic_is_always_a_vault_error() -> None:
    for length in range(0, 300, 7):
        blob = MAGIC + os.urandom(length)
        with pytest.raises(VaultError):
            opened(blob)


@settings(max_examples=200, deadline=None)
@given(tail=st.binary(max_size=400))
def test_fuzzed_headers_never_escape_as_other_errors(tail: bytes) -> None:
    with pytest.raises(VaultError):
        opened(MAGIC + b"\x01\x00\x0a\x01" + tail)


# --- tampering -------------------------------------------------------------------------------

def three_segments() -> tuple[bytes, bytes, int]:
    data = os.urandom(2 * SEGMENT + 100)
    blob = seal(data)
    return data, blob, header_length(blob)


def test_a_flipped_bit_anywhere_is_caught() -> None:
    _, blob, start = three_segments()
    header_end = start - BINDING_LENGTH
    for position in range(len(blob)):
        damaged = bytearray(blob)
        damaged[position] ^= 1 << (position % 8)
        with pytest.raises(VaultError) as caught:
            opened(bytes(damaged))
        if position < len(MAGIC):
            assert isinstance(caught.value, NotAVaultError)
        elif position < header_end:
            assert not isinstance(caught.value, IntegrityError), position
        else:
            assert isinstance(caught.value, TamperedError), position


def segments_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    start = header_length(blob)
    payload = blob[start:]
    return blob[:start], [payload[i:i + CHUNK] for i in range(0, len(payload), CHUNK)]


def test_swapped_segments() -> None:
    _, blob = seal_many(4)
    head, segments = segments_of(blob)
    segments[0], segments[2] = segments[2], segments[0]
    with pytest.raises(ReorderedError, match="segment 1 of 5 is really segment 3"):
        opened(head + b"".join(segments))


def test_dropped_segment() -> None:
    _, blob = seal_many(4)
    head, segments = segments_of(blob)
    del segments[1]
    with pytest.raises(ReorderedError, match="segment 4 of 4 is really segment 5"):
        opened(head + b"".join(segments))


def test_duplicated_segment() -> None:
    _, blob = seal_many(4)
    head, segments = segments_of(blob)
    segments.insert(2, segments[1])
    with pytest.raises(ReorderedError, match="segment 6 of 6 is really segment 5"):
        opened(head + b"".join(segments))


def test_dropped_final_segment_is_truncation() -> None:
    _, blob = seal_many(4)
    head, segments = segments_of(blob)
    with pytest.raises(TruncatedError, match="without its final segment"):
        opened(head + b"".join(segments[:-1]))


def seal_many(full: int) -> tuple[bytes, bytes]:
    data = os.urandom(full * SEGMENT + 10)
    return data, seal(data)


def test_truncation_at_every_segment_boundary() -> None:
    _, blob = seal_many(5)
    start = header_length(blob)
    for boundary in range(start, len(blob), CHUNK):
        with pytest.raises(TruncatedError):
            opened(blob[:boundary])


def test_truncation_inside_the_header() -> None:
    blob = seal(b"x")
    for cut in (len(MAGIC) + 1, 40, header_length(blob) - BINDING_LENGTH - 1):
        with pytest.raises(HeaderError, match="ends inside the header"):
            opened(blob[:cut])


def test_truncation_inside_a_segment() -> None:
    _, blob = seal_many(2)
    with pytest.raises(IntegrityError):
        opened(blob[:-5])


def test_swapped_headers_between_files() -> None:
    _, first = seal_many(3)
    _, second = seal_many(3)
    head_one, _ = segments_of(first)
    head_two, _ = segments_of(second)
    body_two = second[len(head_two):]
    with pytest.raises(HeaderMismatchError, match="belongs to another file"):
        opened(head_one[:-BINDING_LENGTH] + second[len(head_two) - BINDING_LENGTH:])
    assert body_two  # the payload alone was kept, only the header moved


def test_an_altered_header_fails_its_mac() -> None:
    blob = bytearray(seal(b"x", ME, HQ))
    # The second stanza belongs to HQ: altering it does not stop us unsealing, but the MAC fails.
    stanza_two = len(MAGIC) + 4 + 32 + 1 + 16 + 2 + len(ME.recipient.seal(b"k" * 32, b""))
    blob[stanza_two + 20] ^= 1
    with pytest.raises(HeaderError, match="MAC"):
        opened(bytes(blob))


# --- crashes and recovery -----------------------------------------------------------------------

def test_an_abandoned_file_is_never_taken_for_finished_and_recovers() -> None:
    data = os.urandom(3 * SEGMENT + 500)
    sink = io.BytesIO()
    writer = VaultWriter(sink, [ME.recipient], segment_size=SEGMENT)
    writer.write(data)
    writer.abandon()  # as if the process died: no final segment
    with pytest.raises(TruncatedError):
        opened(sink.getvalue())
    out = io.BytesIO()
    report = recover(io.BytesIO(sink.getvalue()), [ME], out)
    assert (report.segments, report.plaintext_bytes, report.finished) == (3, 3 * SEGMENT, False)
    assert out.getvalue() == data[:3 * SEGMENT]
    assert report.stopped_because == "the file ends without its final segment"


def test_recover_reads_a_finished_file_whole() -> None:
    data = os.urandom(2 * SEGMENT + 3)
    out = io.BytesIO()
    report = recover(io.BytesIO(seal(data)), [ME], out)
    assert report.finished and out.getvalue() == data and report.segments == 3


def test_recover_stops_at_the_first_bad_segment() -> None:
    _, blob = seal_many(4)
    damaged = bytearray(blob)
    damaged[header_length(blob) + 2 * CHUNK + 5] ^= 1
    out = io.BytesIO()
    report = recover(io.BytesIO(bytes(damaged)), [ME], out)
    assert report.segments == 2 and len(out.getvalue()) == 2 * SEGMENT
    assert report.stopped_because == "segment 3 failed authentication"


class CountingClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_fsync_happens_within_the_interval_and_at_close(tmp_path, monkeypatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    clock = CountingClock()
    with open(tmp_path / "f", "wb") as sink:
        writer = VaultWriter(sink, [ME.recipient], segment_size=SEGMENT, fsync_interval=1.0,
                             clock=clock)
        writer.write(os.urandom(SEGMENT))  # a segment reaches the OS at t=0
        assert synced == []
        clock.now = 0.5
        writer.write(b"x")
        assert synced == []
        clock.now = 1.0
        writer.write(b"y")  # a second after the first unsynced segment: sync now
        assert len(synced) == 1
        clock.now = 5.0
        writer.write(b"z")  # nothing new reached the OS since: no needless sync
        assert len(synced) == 1
        writer.close()
        assert len(synced) == 2


# --- edge cases found in review ---------------------------------------------------------------

class TrickleSink(io.BytesIO):
    """A sink that takes at most 100 bytes per call, as an unbuffered file may."""

    def write(self, data) -> int:  # type: ignore[override]
        return super().write(bytes(data)[:100])


def test_short_writes_by_the_sink_are_completed() -> None:
    data = os.urandom(3 * SEGMENT + 5)
    sink = TrickleSink()
    with VaultWriter(sink, [ME.recipient], segment_size=SEGMENT) as writer:
        writer.write(data)
    assert opened(sink.getvalue()) == data


class FullDisk(io.BytesIO):
    def write(self, data) -> int:  # type: ignore[override]
        return 0


def test_a_sink_that_stops_taking_data_is_an_error_not_a_silent_loss() -> None:
    with pytest.raises(OSError, match="stopped taking data"):
        VaultWriter(FullDisk(), [ME.recipient])


def test_a_newer_version_is_named_even_in_a_short_file() -> None:
    with pytest.raises(UnsupportedVersionError):
        opened(MAGIC + b"\x02")


def test_a_cut_inside_the_header_copy_is_truncation() -> None:
    blob = seal(b"x")
    start = header_length(blob)
    with pytest.raises(TruncatedError, match="right after its header"):
        opened(blob[:start - 3])


def test_a_stanza_of_an_unknown_suite_beside_ours_is_skipped() -> None:
    blob = bytearray(seal(b"still readable", STRANGER, ME))
    blob[len(MAGIC) + 4 + 32] = 9  # the stranger's stanza now names a future suite
    # The header MAC covers that byte, so the file no longer opens: but the error is the MAC,
    # which proves our own stanza was found past the unknown one.
    with pytest.raises(HeaderError, match="MAC"):
        opened(bytes(blob))


def test_duplicate_recipients_are_sealed_once() -> None:
    blob = seal(b"x", ME, ME, HQ)
    assert len(read_header(io.BytesIO(blob)).stanzas) == 2


@pytest.mark.parametrize("text", ["ik-x25519-!!!!", "ik-x25519-AAAA", "age1qqq", ""])
def test_bad_recipient_text(text: str) -> None:
    from kiosk.vault import Recipient

    with pytest.raises(ValueError, match="base64|bytes|not a vault recipient"):
        Recipient.from_text(text)


def test_recipient_text_round_trips() -> None:
    from kiosk.vault import Recipient

    for identity in (ME, HQ):
        assert Recipient.from_text(identity.recipient.to_text()) == identity.recipient


def test_a_failed_segment_leaves_no_plaintext_in_the_callers_buffer() -> None:
    data = b"\x41" * (3 * SEGMENT)
    blob = bytearray(seal(data))
    blob[header_length(bytes(blob)) + CHUNK + 10] ^= 1  # damage the second segment
    reader = VaultReader(io.BytesIO(bytes(blob)), [ME])
    buffer = bytearray(3 * SEGMENT)
    with pytest.raises(TamperedError):
        reader.readinto(buffer)
    assert buffer[:SEGMENT] == data[:SEGMENT]  # the good first segment was delivered
    assert buffer[SEGMENT:2 * SEGMENT] == bytes(SEGMENT)  # the bad one left nothing behind
