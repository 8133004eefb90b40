"""Export bundles: what the kiosk writes, HQ reads back exactly; anything else is refused."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sync.bundle as bundle_module
import sync.bundle.reader as reader_module
import sync.bundle.writer as writer_module
from sync.bundle import (
    BadBundleSignatureError,
    BundleError,
    DamagedBundleError,
    Entry,
    EntrySpec,
    ForeignBundleError,
    NotABundleError,
    UnsupportedBundleVersionError,
    VerifiedBundle,
    read_bundle,
    write_bundle,
)

DEVICE = Ed25519PrivateKey.generate()
STRANGER = Ed25519PrivateKey.generate()
SECRET = b"PAYLOAD-CONTENTS-MUST-NOT-LEAK"
FOOTER_SIZE = 88
MIB = 1024 * 1024
# The spec's constants, spelled out here so the tests check the document, not the module.
SPEC_MAGIC = b"IKBUNDLE"
SPEC_END = b"IKBUNEND"
SPEC_DOMAIN = b"interview-kiosk bundle v1\n"
NAME = re.compile(r"interview-kiosk-kiosk-7-(\d{8}T\d{6}Z)\.ikbundle")


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def keys(device_id: str) -> bytes | None:
    return raw_public(DEVICE) if device_id == "kiosk-7" else None


def payload(spec: EntrySpec) -> bytes:
    return spec.source.read_bytes() if isinstance(spec.source, Path) else spec.source


def specs() -> list[EntrySpec]:
    return [
        EntrySpec("session/2024-05-01/a1", "session", {"template": "demo", "answers": 3},
                  b'{"sealed": "session"}'),
        EntrySpec("transcript:a1:q1", "transcript", {"question": 1, "lang": "hi"}, SECRET),
        EntrySpec("recording.a1.q1", "recording", {}, b""),
    ]


def write(directory: Path, entries: Iterable[EntrySpec] | None = None, **options: Any) -> Path:
    return write_bundle(directory, "kiosk-7", DEVICE, specs() if entries is None else entries,
                        **options)


def read(path: Path, **options: Any) -> VerifiedBundle:
    return read_bundle(path, keys, **options)


def refused(data: bytes, directory: Path) -> BundleError:
    """The error reading `data` as a bundle gives; fails the test if it verifies."""
    path = directory / "suspect.ikbundle"
    path.write_bytes(data)
    with pytest.raises(BundleError) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message and SECRET.decode() not in message
    return caught.value


def split(data: bytes) -> tuple[bytes, bytes, bytes, int]:
    """Payload region, manifest and signature of a bundle, parsed as the spec says."""
    signature, offset, length, end = struct.unpack(">64sQQ8s", data[-FOOTER_SIZE:])
    assert end == SPEC_END and offset + length + FOOTER_SIZE == len(data)
    return data[9:offset], data[offset:offset + length], signature, offset


def assemble(payloads: bytes, manifest: dict[str, Any] | bytes,
             key: Ed25519PrivateKey = DEVICE) -> bytes:
    """A bundle built from the spec alone, signing whatever manifest it is given."""
    encoded = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    offset = 9 + len(payloads)
    return (SPEC_MAGIC + b"\x01" + payloads + encoded
            + key.sign(SPEC_DOMAIN + encoded)
            + struct.pack(">QQ", offset, len(encoded)) + SPEC_END)


def entry(item_id: str, offset: int, payload: bytes, kind: str = "session") -> dict[str, Any]:
    return {"item_id": item_id, "kind": kind, "meta": {}, "offset": offset,
            "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}


def manifest_for(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"format": "interview-kiosk-bundle", "version": 1, "bundle_id": "ab" * 16,
            "device_id": "kiosk-7", "created_at": "2024-05-01T10:00:00Z", "since": None,
            "entries": list(entries)}


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1:]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of one good bundle of three entries."""
    return write(tmp_path_factory.mktemp("sample")).read_bytes()


# ---------------------------------------------------------------------------- round trip


def test_bytes_and_files_round_trip(tmp_path: Path) -> None:
    big = tmp_path / "answer.vault"
    big.write_bytes(os.urandom(5 * MIB + 123))
    given_specs = [*specs(), EntrySpec("recording.a1.q2", "recording", {"seconds": 93.5}, big)]
    path = write(tmp_path, given_specs, since="2024-04-30T18:00:00Z")
    bundle = read(path)
    assert bundle.path == path and bundle.device_id == "kiosk-7"
    assert bundle.since == "2024-04-30T18:00:00Z" and re.fullmatch(r"[0-9a-f]{32}",
                                                                   bundle.bundle_id)
    assert [(e.item_id, e.kind, e.meta) for e in bundle.entries] == [
        (s.item_id, s.kind, dict(s.meta)) for s in given_specs]
    for spec, got in zip(given_specs, bundle.entries, strict=True):
        data = payload(spec)
        assert got.size == len(data) and got.sha256 == hashlib.sha256(data).hexdigest()
        assert bundle.read_entry(got) == data
    assert bundle.entries[2].size == 0


def test_an_entry_streams_in_pieces_read_only(tmp_path: Path) -> None:
    bundle = read(write(tmp_path))
    with bundle.open_entry(bundle.entries[1]) as stream:
        assert not stream.writable()
        pieces = iter(lambda: stream.read(7), b"")
        assert b"".join(pieces) == SECRET
        assert stream.read() == b""
        with pytest.raises(io.UnsupportedOperation):
            stream.write(b"x")


def test_the_name_carries_device_and_utc_time_and_no_temporary_file_is_left(
        tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    path = write(tmp_path)
    match = NAME.fullmatch(path.name)
    assert match and path.parent == tmp_path
    stamp = datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC)
    assert read(path).created_at == stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert list(tmp_path.iterdir()) == [path]


def test_progress_reaches_the_total_when_writing_and_reading(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"\x00" * (3 * MIB))
    total = 3 * MIB + len(b'{"sealed": "session"}') + len(SECRET)
    calls: list[tuple[int, int]] = []
    path = write(tmp_path, [*specs(), EntrySpec("r2", "recording", {}, big)],
                 progress=lambda done, of: calls.append((done, of)))
    assert calls[0] == (0, total) and calls[-1] == (total, total) and len(calls) > 4
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    calls.clear()
    read(path, progress=lambda done, of: calls.append((done, of)))
    assert calls[0] == (0, total) and calls[-1] == (total, total) and len(calls) > 4


def test_entries_may_be_any_iterable_and_a_bundle_may_be_empty(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    bundle = read(write(tmp_path / "one", iter(specs())))
    assert [e.item_id for e in bundle.entries] == [s.item_id for s in specs()]
    empty = read(write(tmp_path, []))
    assert empty.entries == () and empty.since is None


def test_the_written_file_is_what_the_spec_describes(tmp_path: Path) -> None:
    data = write(tmp_path, since="cursor-41").read_bytes()
    assert data[:9] == SPEC_MAGIC + b"\x01"
    payloads, manifest, signature, offset = split(data)
    DEVICE.public_key().verify(signature, SPEC_DOMAIN + manifest)
    fields = json.loads(manifest)
    assert list(fields) == ["format", "version", "bundle_id", "device_id", "created_at",
                            "since", "entries"]
    assert fields["format"] == "interview-kiosk-bundle" and fields["version"] == 1
    assert fields["since"] == "cursor-41"
    expected = [entry(s.item_id, 0, payload(s), s.kind) | {"meta": s.meta} for s in specs()]
    position = 9
    for listed, wanted in zip(fields["entries"], expected, strict=True):
        assert listed == wanted | {"offset": position}
        position += listed["size"]
    assert position == offset and payloads == b"".join(payload(s) for s in specs())


def test_a_bundle_built_from_the_spec_alone_is_read(tmp_path: Path) -> None:
    one, two = b"first payload", b"second"
    data = assemble(one + two, manifest_for(entry("a", 9, one), entry("b", 9 + len(one), two,
                                                                       "recording")))
    path = tmp_path / "spec.ikbundle"
    path.write_bytes(data)
    bundle = read(path)
    assert [bundle.read_entry(e) for e in bundle.entries] == [one, two]


def test_the_example_in_the_spec_is_exact(tmp_path: Path) -> None:
    spec = (Path(__file__).resolve().parents[2] / "docs" / "bundle-format.md").read_text(
        encoding="utf-8")
    example = spec[spec.index("## 9. Example"):spec.index("## 10.")]
    private, public = re.findall(r"(?:private|public) `([0-9a-f]{64})`", example)
    manifest = next(line for line in example.splitlines() if line.startswith('{"format"'))
    signature = re.search(r"signature +([0-9a-f]{128})", example)
    digest = re.search(r"whole file +(\d+) bytes, SHA-256 ([0-9a-f]{64})", example)
    assert signature and digest
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private))
    assert raw_public(key).hex() == public
    data = assemble(b"hello", manifest.encode(), key)
    assert data[-88:-24].hex() == signature[1]
    assert len(data) == int(digest[1]) and hashlib.sha256(data).hexdigest() == digest[2]
    path = tmp_path / "example.ikbundle"
    path.write_bytes(data)
    bundle = read_bundle(path, lambda device_id: bytes.fromhex(public))
    assert [bundle.read_entry(e) for e in bundle.entries] == [b"hello"]


# ---------------------------------------------------------------------------- atomic writing


class FailingPath(type(Path())):  # type: ignore[misc]
    """A source file whose disk fails after the first read (EIO), as a dying stick does."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return _FailingFile(super().open(*args, **kwargs))


class _FailingFile:
    def __init__(self, real: io.BufferedReader) -> None:
        self._real, self._reads = real, 0

    def read(self, size: int = -1) -> bytes:
        self._reads += 1
        if self._reads > 1:
            raise OSError(errno.EIO, "Input/output error")
        return self._real.read(size)

    def __enter__(self) -> _FailingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()


def test_a_source_failing_mid_write_leaves_no_file(tmp_path: Path) -> None:
    (tmp_path / "broken.vault").write_bytes(b"\x01" * (3 * MIB))
    source = FailingPath(tmp_path / "broken.vault")
    out = tmp_path / "stick"
    out.mkdir()
    seen: list[list[str]] = []
    with pytest.raises(OSError, match="Input/output error"):
        write(out, [*specs(), EntrySpec("r", "recording", {}, source)],
              progress=lambda done, of: seen.append(sorted(p.name for p in out.iterdir())))
    assert seen and all(len(names) == 1 and names[0].endswith(".partial") for names in seen)
    assert list(out.iterdir()) == []


def test_the_file_is_fsynced_before_the_rename_and_the_directory_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def replace(source: str, target: str) -> None:
        events.append(("replace", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = write(tmp_path)
    assert [kind for kind, _ in events] == ["fsync", "replace", "fsync"]
    assert events[0][1].endswith(".partial") and events[1][1] == str(path)
    assert events[2][1] == str(tmp_path)


def test_a_bundle_never_replaces_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "_utc_now",
                        lambda: datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC))
    first = write(tmp_path)
    assert first.name == "interview-kiosk-kiosk-7-20240501T100000Z.ikbundle"
    before = first.read_bytes()
    with pytest.raises(FileExistsError):
        write(tmp_path, [])
    assert first.read_bytes() == before and list(tmp_path.iterdir()) == [first]
    first.unlink()  # now one appears while this export is being written, and stays

    def race(done: int, total: int) -> None:
        if done == total:
            first.write_bytes(before)

    with pytest.raises(FileExistsError):
        write(tmp_path, progress=race)
    assert first.read_bytes() == before and list(tmp_path.iterdir()) == [first]


@pytest.mark.parametrize(("change", "error"), [
    ({"item_id": "has space"}, "item id"),
    ({"item_id": "x" * 201}, "item id"),
    ({"item_id": "a1\n"}, "item id"),
    ({"kind": "video"}, "kind"),
    ({"meta": {"when": datetime(2024, 1, 1)}}, "meta"),
    ({"meta": {"scores": (1, 2)}}, "meta"),
    ({"meta": {1: "int key"}}, "meta"),
    ({"meta": {"x": float("nan")}}, "meta"),
    ({"meta": {"notes": "n" * (64 * 1024)}}, "meta"),
    ({"meta": ["not", "an", "object"]}, "meta"),
    ({"source": "a str is not bytes"}, "source"),
])
def test_the_writer_refuses_bad_entries(tmp_path: Path, change: dict[str, Any],
                                        error: str) -> None:
    good = {"item_id": "a1", "kind": "session", "meta": {}, "source": b"x"}
    with pytest.raises(ValueError, match=error):
        write(tmp_path, [EntrySpec(**(good | change))])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("options", "error"), [
    ({"entries": [EntrySpec("a", "session", {}, b""), EntrySpec("a", "transcript", {}, b"")]},
     "twice"),
    ({"device_id": "../kiosk"}, "device id"),
    ({"device_id": ""}, "device id"),
    ({"since": "with space"}, "since"),
    ({"since": ""}, "since"),
])
def test_the_writer_refuses_bad_arguments(tmp_path: Path, options: dict[str, Any],
                                          error: str) -> None:
    arguments: dict[str, Any] = {"device_id": "kiosk-7", "entries": specs()} | options
    with pytest.raises(ValueError, match=error):
        write_bundle(tmp_path, arguments.pop("device_id"), DEVICE, arguments.pop("entries"),
                     **arguments)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- refusals


def test_a_bundle_from_an_unknown_or_revoked_device(tmp_path: Path, sample: bytes) -> None:
    path = tmp_path / "b.ikbundle"
    path.write_bytes(sample)
    with pytest.raises(ForeignBundleError, match="'kiosk-7', which this HQ does not know"):
        read_bundle(path, lambda device_id: None)
    with pytest.raises(ForeignBundleError, match="not a valid Ed25519 public key"):
        read_bundle(path, lambda device_id: b"\x00" * 16)


def test_a_bundle_signed_by_another_key(tmp_path: Path) -> None:
    forged = write_bundle(tmp_path, "kiosk-7", STRANGER, specs())
    with pytest.raises(BadBundleSignatureError, match="does not verify with device 'kiosk-7'"):
        read(forged)


def test_a_flipped_bit_in_a_payload_names_the_entry(tmp_path: Path, sample: bytes) -> None:
    inside_secret = sample.index(SECRET) + 5
    error = refused(flip(sample, inside_secret), tmp_path)
    assert isinstance(error, DamagedBundleError)
    assert str(error) == ("the bundle is damaged: entry 2 of 3 does not match its checksum "
                          "(was the copy interrupted?)")


@pytest.mark.parametrize(("where", "error"), [
    (lambda manifest: manifest.index(b'"sha256":"') + 12, BadBundleSignatureError),
    (lambda manifest: manifest.index(b'"meta":{') + 9, BadBundleSignatureError),
    (lambda manifest: 0, DamagedBundleError),  # the opening brace: no longer JSON
])
def test_a_flipped_bit_in_the_manifest(tmp_path: Path, sample: bytes,
                                       where: Callable[[bytes], int],
                                       error: type[BundleError]) -> None:
    _, manifest, _, offset = split(sample)
    assert isinstance(refused(flip(sample, offset + where(manifest)), tmp_path), error)


@pytest.mark.parametrize("index", [-FOOTER_SIZE, -FOOTER_SIZE + 40])
def test_a_flipped_bit_in_the_signature(tmp_path: Path, sample: bytes, index: int) -> None:
    assert isinstance(refused(flip(sample, len(sample) + index), tmp_path),
                      BadBundleSignatureError)


@pytest.mark.parametrize("index", [-24, -17, -9, -1])  # offset, length, end mark
def test_a_flipped_bit_in_the_footer(tmp_path: Path, sample: bytes, index: int) -> None:
    assert isinstance(refused(flip(sample, len(sample) + index, 0x80), tmp_path),
                      DamagedBundleError)


def test_truncation_anywhere_is_refused(tmp_path: Path, sample: bytes) -> None:
    for length in range(len(sample)):
        error = refused(sample[:length], tmp_path)
        expected = NotABundleError if length < 9 else DamagedBundleError
        assert type(error) is expected, (length, error)


@pytest.mark.parametrize("extra", [b"\x00", b"\n", SPEC_END, b"x" * 4096])
def test_appended_bytes_are_refused(tmp_path: Path, sample: bytes, extra: bytes) -> None:
    error = refused(sample + extra, tmp_path)
    assert isinstance(error, DamagedBundleError) and "bytes added" in str(error)


def test_a_bundle_with_a_second_bundle_appended(tmp_path: Path, sample: bytes) -> None:
    assert isinstance(refused(sample + sample, tmp_path), DamagedBundleError)


@pytest.mark.parametrize("data", [
    b"", b"IKBUN", b"IKBUNDLE", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
    b"PK\x03\x04" + b"\x00" * 200, b"interview notes\n" * 20,
])
def test_files_that_are_not_bundles(tmp_path: Path, data: bytes) -> None:
    error = refused(data, tmp_path)
    assert isinstance(error, NotABundleError) and ".ikbundle file" in str(error)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_other_format_versions(tmp_path: Path, sample: bytes, version: int) -> None:
    error = refused(sample[:8] + bytes([version]) + sample[9:], tmp_path)
    assert isinstance(error, UnsupportedBundleVersionError)
    assert f"version {version}, which this HQ cannot read" in str(error)


def test_a_manifest_over_the_limit_is_refused_unread(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    size = 32 * MIB + 1
    path = tmp_path / "huge.ikbundle"
    with path.open("wb") as out:  # sparse: the manifest's bytes are never written
        out.write(SPEC_MAGIC + b"\x01")
        out.seek(9 + size)
        out.write(b"\x00" * 64 + struct.pack(">QQ", 9, size) + SPEC_END)
    monkeypatch.setattr(reader_module, "_parse_manifest", None)  # must not be reached
    with pytest.raises(DamagedBundleError, match="more than a bundle may have"):
        read(path)


ONE, TWO = b"one payload", b"two"
GOOD = manifest_for(entry("a", 9, ONE), entry("b", 9 + len(ONE), TWO))


def edited(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(json.dumps(GOOD))
    change(manifest)
    return manifest


@pytest.mark.parametrize(("manifest", "message"), [
    (edited(lambda m: m["entries"][1].update(offset=9 + 4)), "entry 2 of 2 that overlaps"),
    (edited(lambda m: m["entries"][1].update(offset=9 + len(ONE) + 1)), "leaves a gap"),
    (edited(lambda m: m["entries"][1].update(size=len(TWO) + 1)), "runs past the payloads"),
    (edited(lambda m: m["entries"][1].update(size=len(TWO) - 1)), "every byte"),
    (edited(lambda m: m["entries"][1].update(size=-1)), "size"),
    (edited(lambda m: m["entries"][1].update(size=True)), "size"),
    (edited(lambda m: m["entries"][0].update(offset="9")), "overlaps"),
    (edited(lambda m: m["entries"][1].update(item_id="a")), "lists item 'a' twice"),
    (edited(lambda m: m["entries"][0].update(kind="video")), "of a kind other than"),
    (edited(lambda m: m["entries"][0].update(item_id="a b")), "item id"),
    (edited(lambda m: m["entries"][0].update(meta=[1])), "meta"),
    (edited(lambda m: m["entries"][0].update(meta={"n": "x" * 70_000})), "meta"),
    (edited(lambda m: m["entries"][0].update(meta={"n": "\ud800"})), "meta"),  # no UTF-8
    (edited(lambda m: m["entries"][0].update(sha256="AB" * 32)), "checksum"),
    (edited(lambda m: m["entries"][0].update(extra=1)), "exactly the fields"),
    (edited(lambda m: m["entries"][0].pop("meta")), "exactly the fields"),
    (edited(lambda m: m.update(entries={"a": 1})), "no list of entries"),
    (edited(lambda m: m.update(version=2)), "version 1"),
    (edited(lambda m: m.update(version=True)), "version 1"),
    (edited(lambda m: m.update(format="zip")), "format"),
    (edited(lambda m: m.update(bundle_id="AB" * 16)), "bundle id"),
    (edited(lambda m: m.update(created_at="2024-13-01T10:00:00Z")), "creation time"),
    (edited(lambda m: m.update(created_at="2024-05-01 10:00:00")), "creation time"),
    (edited(lambda m: m.update(since=7)), "since"),
    (edited(lambda m: m.pop("since")), "exactly the fields"),
    (edited(lambda m: m.update(comment="hi")), "exactly the fields"),
])
def test_a_validly_signed_but_malformed_manifest_is_refused(
        tmp_path: Path, manifest: dict[str, Any], message: str) -> None:
    error = refused(assemble(ONE + TWO, manifest), tmp_path)
    assert isinstance(error, DamagedBundleError) and message in str(error)
    assert "export it again from the kiosk" in str(error)


@pytest.mark.parametrize("manifest", [
    json.dumps(GOOD).encode()[:-1] + b', "since": null}',  # a repeated key, else all good
    b'{"device_id": "kiosk-7", "x": NaN}',
    b'{"device_id": "kiosk-7"} trailing',
    b"\xef\xbb\xbf{}",  # a byte order mark
    b'{"device_id": "\xff"}',  # not UTF-8
    b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the parser's recursion
    b'{"n": ' + b"9" * 5000 + b"}",  # an integer past Python's conversion limit
    b"[]",
    b'{"device_id": ["kiosk-7"]}',
    b'{"device_id": "kiosk 7"}',
])
def test_manifests_that_are_not_proper_json_are_damage(tmp_path: Path,
                                                       manifest: bytes) -> None:
    assert isinstance(refused(assemble(ONE + TWO, manifest), tmp_path), DamagedBundleError)


def test_the_entry_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "MAX_ENTRIES", 1)
    assert "more than 1 entries" in str(refused(assemble(ONE + TWO, GOOD), tmp_path))


def test_a_payload_changed_after_verification_is_caught_on_reading(tmp_path: Path) -> None:
    path = write(tmp_path)
    bundle = read(path)
    data = path.read_bytes()
    path.write_bytes(flip(data, data.index(SECRET)))
    with pytest.raises(DamagedBundleError, match="changed after the bundle was verified"):
        bundle.read_entry(bundle.entries[1])
    path.write_bytes(data[:data.index(SECRET) + 3])
    with pytest.raises(DamagedBundleError, match="shorter after it was verified"):
        bundle.read_entry(bundle.entries[1])


def test_only_the_bundles_own_entries_can_be_opened(tmp_path: Path) -> None:
    bundle = read(write(tmp_path))
    stranger = Entry("session/2024-05-01/a1", "session", {}, 1, "0" * 64)
    with pytest.raises(ValueError, match="not an entry of this bundle"):
        bundle.open_entry(stranger)


def test_every_error_is_drawn_in_the_tree() -> None:
    classes = [v for v in vars(bundle_module).values()
               if isinstance(v, type) and issubclass(v, BundleError)]
    assert len(classes) == 6
    for cls in classes:
        assert f" {cls.__name__} " in (bundle_module.__doc__ or "")


# ---------------------------------------------------------------------------- properties

QUICK = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=8)
ENTRY_SPECS = st.lists(
    st.builds(EntrySpec, item_id=st.from_regex(r"[A-Za-z0-9._:/-]{1,40}", fullmatch=True),
              kind=st.sampled_from(["session", "transcript", "recording"]),
              meta=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
              source=st.binary(max_size=3000)),
    max_size=6, unique_by=lambda spec: spec.item_id)




def mutate(data: bytes, mutation: tuple[str, int, bytes]) -> bytes:
    kind, where, value = mutation
    if kind != "insert" and not data:
        return data
    if kind == "flip":
        return flip(data, where % len(data), value[0])
    if kind == "cut":
        return data[:where % len(data)]
    where %= len(data) + 1
    return data[:where] + value + data[where:]


MUTATIONS = st.lists(st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.binary(min_size=1, max_size=1)
              .filter(lambda mask: mask != b"\x00")),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(b"")),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
), min_size=1, max_size=3)


@QUICK
@given(entries=ENTRY_SPECS, since=st.none() | st.from_regex(r"[\x21-\x7e]{1,30}",
                                                            fullmatch=True))
def test_any_entry_list_round_trips(entries: list[EntrySpec], since: str | None) -> None:
    with tempfile.TemporaryDirectory() as directory:
        bundle = read(write(Path(directory), entries, since=since))
        assert bundle.since == since
        assert [(e.item_id, e.kind, e.meta, bundle.read_entry(e)) for e in bundle.entries] == [
            (s.item_id, s.kind, s.meta, s.source) for s in entries]


@QUICK
@given(mutations=MUTATIONS)
def test_any_change_to_a_bundle_is_refused_as_a_bundle_error(
        tmp_path: Path, sample: bytes, mutations: list[tuple[str, int, bytes]]) -> None:
    data = sample
    for mutation in mutations:
        data = mutate(data, mutation)
    if data == sample:  # two flips of one bit cancel out
        return
    # Every byte is covered: magic and version by value, payloads by their checksums, the
    # manifest by the signature, the footer by the file's length and its end mark.
    refused(data, tmp_path)


@QUICK
@given(data=st.binary(max_size=400), framed=st.booleans())
def test_random_bytes_are_refused_as_a_bundle_error(tmp_path: Path, data: bytes,
                                                    framed: bool) -> None:
    refused(SPEC_MAGIC + b"\x01" + data + SPEC_END if framed else data, tmp_path)


FIELDS = st.sampled_from([
    ("format",), ("version",), ("bundle_id",), ("device_id",), ("created_at",), ("since",),
    ("entries",), ("entries", 0), ("entries", 1, "item_id"), ("entries", 0, "kind"),
    ("entries", 1, "meta"), ("entries", 0, "offset"), ("entries", 1, "size"),
    ("entries", 0, "sha256"), ("entries", 0, "meta", "n"),
])


@QUICK
@given(where=FIELDS, value=JSON_VALUES)
def test_a_signed_manifest_is_still_checked_field_by_field(
        tmp_path: Path, where: tuple[str | int, ...], value: object) -> None:
    manifest = edited(lambda m: None)
    parent: Any = manifest
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = value
    path = tmp_path / "signed.ikbundle"
    path.write_bytes(assemble(ONE + TWO, manifest))
    try:
        bundle = read(path)
    except BundleError:
        return
    # A change the checks let through must still describe these exact payloads.
    assert [bundle.read_entry(e) for e in bundle.entries] == [ONE, TWO]
    assert (bundle.since, bundle.device_id) == (manifest["since"], manifest["device_id"])
    assert [e.meta for e in bundle.entries] == [e["meta"] for e in manifest["entries"]]
