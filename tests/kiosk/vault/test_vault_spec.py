"""docs/vault-format.md, proved by a second implementation written from it alone.

The decoder below uses only `cryptography` primitives, hashlib, hmac and struct; it even opens
the HPKE stanzas itself (RFC 9180 base mode, appendix A of the spec) rather than through
`hpke.Suite`, so the KEM, KDF and AEAD identifiers the spec names are checked too. It imports
nothing from `kiosk.vault`'s header, reader or writer: the kiosk only writes the files it reads
(`seal_bytes`, `VaultWriter`) and makes the keys (`Identity`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import struct
from dataclasses import dataclass

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from kiosk.vault import Identity, SuiteId, VaultWriter, seal_bytes

# --- the spec, as constants (§2, §3, §6) ------------------------------------------------------

MAGIC = bytes.fromhex("89494b560d0a1a0a")
FIXED = struct.Struct(">8sBBBB32s")  # magic, version, flags, segment_log2, count, salt
STANZA = struct.Struct(">B16sH")  # suite, key id, sealed length
SUITE_X25519, SUITE_HYBRID = 1, 2
KEM_ID = {SUITE_X25519: 0x0020, SUITE_HYBRID: 0x647A}
ENC_LENGTH = {SUITE_X25519: 32, SUITE_HYBRID: 1120}
KDF_HKDF_SHA256, AEAD_AES_256_GCM = 0x0001, 0x0002
MAC_LENGTH, BINDING_LENGTH, TAG = 32, 16, 16
XWING_LABEL = bytes.fromhex("5c2e2f2f5e5c")

SEGMENT = 1024
ME = Identity.generate()  # hybrid
HQ = Identity.generate(SuiteId.X25519)
PEER = Identity.generate()
EVERYONE = (ME, HQ, PEER)


class Rejected(Exception):
    """The spec decoder refused a file; `kind` is the spec's error class (§7)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- keys (§4) ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrivateKey:
    """A private key in the kiosk's stored layout, with what §4 derives from it."""

    suite: int
    raw: bytes

    @property
    def x25519(self) -> x25519.X25519PrivateKey:
        return x25519.X25519PrivateKey.from_private_bytes(self.raw[-32:])

    @property
    def mlkem(self) -> mlkem.MLKEM768PrivateKey:
        return mlkem.MLKEM768PrivateKey.from_seed_bytes(self.raw[:64])

    @property
    def public(self) -> bytes:
        x_public = self.x25519.public_key().public_bytes_raw()
        if self.suite == SUITE_X25519:
            return x_public
        return self.mlkem.public_key().public_bytes_raw() + x_public

    @property
    def key_id(self) -> bytes:
        return spec_key_id(self.suite, self.public)


def spec_key_id(suite: int, public: bytes) -> bytes:
    return hashlib.sha256(b"ik-vault-v1 key id" + bytes([suite]) + public).digest()[:16]


def private_key(identity: Identity) -> PrivateKey:
    return PrivateKey(int(identity.suite), identity.private_bytes())


# --- HPKE base-mode Open, from RFC 9180 (appendix A) --------------------------------------------

def labeled_extract(sid: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, b"HPKE-v1" + sid + label + ikm, hashlib.sha256).digest()


def labeled_expand(sid: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled = struct.pack(">H", length) + b"HPKE-v1" + sid + label + info
    return HKDFExpand(hashes.SHA256(), length, labeled).derive(prk)


def decapsulate(key: PrivateKey, enc: bytes) -> bytes:
    if key.suite == SUITE_X25519:
        dh = key.x25519.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
        kem_sid = b"KEM" + struct.pack(">H", KEM_ID[SUITE_X25519])
        prk = labeled_extract(kem_sid, b"", b"eae_prk", dh)
        return labeled_expand(kem_sid, prk, b"shared_secret", enc + key.public, 32)
    ct_m, ct_x = enc[:1088], enc[1088:]  # X-Wing: ML-KEM-768 ciphertext | ephemeral X25519
    ss_m = key.mlkem.decapsulate(ct_m)
    ss_x = key.x25519.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    pk_x = key.x25519.public_key().public_bytes_raw()
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def hpke_open(key: PrivateKey, sealed: bytes, info: bytes) -> bytes:
    enc, ct = sealed[:ENC_LENGTH[key.suite]], sealed[ENC_LENGTH[key.suite]:]
    shared = decapsulate(key, enc)
    sid = b"HPKE" + struct.pack(">HHH", KEM_ID[key.suite], KDF_HKDF_SHA256, AEAD_AES_256_GCM)
    context = (b"\x00" + labeled_extract(sid, b"", b"psk_id_hash", b"")
               + labeled_extract(sid, b"", b"info_hash", info))
    secret = labeled_extract(sid, shared, b"secret", b"")
    aead_key = labeled_expand(sid, secret, b"key", context, 32)
    base_nonce = labeled_expand(sid, secret, b"base_nonce", context, 12)
    opened: bytes = AESGCM(aead_key).decrypt(base_nonce, ct, b"")
    return opened


# --- header and key schedule (§2, §5) ------------------------------------------------------------

@dataclass(frozen=True)
class Header:
    segment_size: int
    salt: bytes
    stanzas: list[tuple[int, bytes, bytes]]  # suite, key id, sealed
    body: bytes
    mac: bytes

    @property
    def length(self) -> int:
        return len(self.body) + MAC_LENGTH


@dataclass(frozen=True)
class Keys:
    data_key: bytes
    header_key: bytes
    payload_key: bytes
    nonce_prefix: bytes


def parse_header(blob: bytes) -> Header:
    if blob[:8] != MAGIC:
        raise Rejected("NotAVault")
    if len(blob) < FIXED.size:
        raise Rejected("Header")
    _, version, flags, log2, count, salt = FIXED.unpack_from(blob)
    if version != 1:
        raise Rejected("UnsupportedVersion")
    if flags != 0 or not 10 <= log2 <= 24 or not 1 <= count <= 32:
        raise Rejected("Header")
    position = FIXED.size
    stanzas = []
    for _ in range(count):
        if len(blob) < position + STANZA.size:
            raise Rejected("Header")
        suite, kid, sealed_length = STANZA.unpack_from(blob, position)
        position += STANZA.size
        sealed = blob[position:position + sealed_length]
        if not 0 < sealed_length <= 4096 or len(sealed) != sealed_length:
            raise Rejected("Header")
        position += sealed_length
        if suite not in (SUITE_X25519, SUITE_HYBRID):
            raise Rejected("UnknownSuite")
        stanzas.append((suite, kid, sealed))
    mac = blob[position:position + MAC_LENGTH]
    if len(mac) != MAC_LENGTH:
        raise Rejected("Header")
    return Header(1 << log2, salt, stanzas, blob[:position], mac)


def hkdf(data_key: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(data_key)


def derive(data_key: bytes, header: Header) -> Keys:
    header_key = hkdf(data_key, header.salt, b"ik-vault-v1 header", 32)
    material = hkdf(data_key, header.salt,
                    b"ik-vault-v1 payload" + hashlib.sha256(header.body).digest(), 39)
    return Keys(data_key, header_key, material[:32], material[32:])


def open_header(header: Header, key: PrivateKey) -> Keys:
    for suite, kid, sealed in header.stanzas:
        if suite == key.suite and kid == key.key_id:
            try:
                data_key = hpke_open(key, sealed, b"ik-vault-v1 stanza" + header.salt)
            except (InvalidTag, ValueError):
                raise Rejected("Header") from None
            keys = derive(data_key, header)
            mac = hmac.new(keys.header_key, header.body, hashlib.sha256).digest()
            if not hmac.compare_digest(mac, header.mac):
                raise Rejected("Header")
            return keys
    raise Rejected("NotARecipient")


# --- payload (§6, §7) -------------------------------------------------------------------------

def nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


@dataclass(frozen=True)
class Opened:
    """A file past every check of §7.1, ready for random access (§6.3)."""

    blob: bytes
    header: Header
    keys: Keys
    full: int  # n: full, non-final segments
    final_length: int  # r

    @property
    def start(self) -> int:
        return self.header.length + BINDING_LENGTH

    @property
    def chunk(self) -> int:
        return self.header.segment_size + TAG

    @property
    def size(self) -> int:
        return self.full * self.header.segment_size + self.final_length - TAG

    def ciphertext(self, index: int) -> bytes:
        offset = self.start + index * self.chunk
        return self.blob[offset:offset + (self.final_length if index == self.full else self.chunk)]

    def decrypt(self, chunk: bytes, index: int, last: bool) -> bytes | None:
        try:
            plain: bytes = AESGCM(self.keys.payload_key).decrypt(
                nonce(self.keys.nonce_prefix, index, last), chunk, None)
        except InvalidTag:
            return None
        return plain

    def segment(self, index: int) -> bytes:
        last = index == self.full
        chunk = self.ciphertext(index)
        plain = self.decrypt(chunk, index, last)
        if plain is not None:
            return plain
        for other in range(self.full + 1):
            if other != index and self.decrypt(chunk, other, last) is not None:
                raise Rejected("Reordered")
        raise Rejected("Tampered")

    def read(self, offset: int, length: int) -> bytes:
        size = self.header.segment_size
        end = min(self.size, offset + length)
        out = b""
        while offset < end:
            index, skip = divmod(offset, size)
            piece = self.segment(index)[skip:skip + end - offset]
            out += piece
            offset += len(piece)
        return out


def spec_open(blob: bytes, key: PrivateKey) -> Opened:
    header = parse_header(blob)
    keys = open_header(header, key)
    binding = blob[header.length:header.length + BINDING_LENGTH]
    payload = max(0, len(blob) - header.length - BINDING_LENGTH)
    full, final_length = divmod(payload, header.segment_size + TAG)
    opened = Opened(blob, header, keys, full, final_length)
    bound = binding == header.mac[:BINDING_LENGTH]
    if not bound and opened.decrypt(opened.ciphertext(0), 0, full == 0) is None:
        raise Rejected("HeaderMismatch")
    if final_length < TAG:
        raise Rejected("Truncated")
    opened.segment(full)
    if not bound:
        raise Rejected("Tampered")
    return opened


def spec_decode(blob: bytes, key: PrivateKey) -> bytes:
    opened = spec_open(blob, key)
    return b"".join(opened.segment(index) for index in range(opened.full + 1))


def spec_recover(blob: bytes, key: PrivateKey) -> tuple[bytes, bool]:
    """§8's recovery: the plaintext of the authentic segments in order, and finished or not."""
    header = parse_header(blob)
    keys = open_header(header, key)
    payload = max(0, len(blob) - header.length - BINDING_LENGTH)
    full, final_length = divmod(payload, header.segment_size + TAG)
    opened = Opened(blob, header, keys, full, final_length)
    out = b""
    for index in range(full):
        plain = opened.decrypt(opened.ciphertext(index), index, False)
        if plain is None:
            return out, False
        out += plain
    if final_length < TAG:
        return out, False
    plain = opened.decrypt(opened.ciphertext(full), full, True)
    return (out, False) if plain is None else (out + plain, True)


def rejection(blob: bytes, key: PrivateKey) -> str:
    """The error class the spec decoder refuses `blob` with."""
    with pytest.raises(Rejected) as caught:
        spec_decode(blob, key)
    return caught.value.kind


def seal(data: bytes, *recipients: Identity, segment_size: int = SEGMENT) -> bytes:
    return seal_bytes(data, [r.recipient for r in recipients or EVERYONE],
                      segment_size=segment_size)


# --- the spec decodes what the kiosk writes -------------------------------------------------------

SIZES = [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 3 * SEGMENT + 7, 9 * SEGMENT + 500]


@pytest.mark.parametrize("size", SIZES)
def test_every_recipient_of_either_suite_decodes_it(size: int) -> None:
    data = os.urandom(size)
    blob = seal(data)
    for identity in EVERYONE:
        assert spec_decode(blob, private_key(identity)) == data


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("identity", [ME, HQ], ids=["hybrid", "x25519"])
def test_a_single_recipient_file_has_the_specified_length(size: int, identity: Identity) -> None:
    data = os.urandom(size)
    blob = seal(data, identity)
    header = 44 + 19 + (1168 if identity is ME else 80) + 32
    assert len(blob) == header + 16 + (size // SEGMENT) * (SEGMENT + 16) + size % SEGMENT + 16
    assert spec_decode(blob, private_key(identity)) == data


@pytest.mark.parametrize("log2", [10, 12, 16])
def test_any_segment_size_and_write_pattern(log2: int) -> None:
    size = 1 << log2
    data = os.urandom(3 * size + size // 3)
    sink = io.BytesIO()
    with VaultWriter(sink, [HQ.recipient], segment_size=size) as writer:
        for start in range(0, len(data), 777):
            writer.write(data[start:start + 777])
    blob = sink.getvalue()
    assert blob[10] == log2
    assert spec_decode(blob, private_key(HQ)) == data


def test_random_access_decrypts_only_the_segments_touched() -> None:
    data = os.urandom(5 * SEGMENT + 300)
    opened = spec_open(seal(data, ME), private_key(ME))
    assert opened.size == len(data) and opened.full == 5
    for offset, length in [(0, 10), (SEGMENT - 3, 6), (2 * SEGMENT, SEGMENT), (5 * SEGMENT, 999),
                           (len(data) - 1, 5), (len(data) + 10, 5)]:
        assert opened.read(offset, length) == data[offset:offset + length]


def test_the_header_reads_as_specified() -> None:
    blob = seal(b"x")
    header = parse_header(blob)
    magic, version, flags, log2, count, _ = FIXED.unpack_from(blob)
    assert (magic, version, flags, log2, count) == (b"\x89IKV\r\n\x1a\n", 1, 0, 10, 3)
    assert [(s, len(sealed)) for s, _, sealed in header.stanzas] == [(2, 1168), (1, 80), (2, 1168)]
    assert [kid for _, kid, _ in header.stanzas] == [i.recipient.key_id for i in EVERYONE]
    assert blob[header.length:header.length + 16] == header.mac[:16]  # the binding copy


@pytest.mark.parametrize("suite", [SuiteId.HYBRID, SuiteId.X25519])
def test_key_ids_and_public_keys_match_the_kiosk(suite: SuiteId) -> None:
    for _ in range(5):
        identity = Identity.generate(suite)
        key = private_key(identity)
        assert key.public == identity.recipient.public
        assert key.key_id == identity.recipient.key_id == identity.key_id
        assert len(key.public) == (32 if suite is SuiteId.X25519 else 1216)
        text = identity.recipient.to_text()
        prefix = "ik-x25519-" if suite is SuiteId.X25519 else "ik-hybrid-"
        assert text == prefix + base64.urlsafe_b64encode(key.public).decode()
        assert len(text) == (54 if suite is SuiteId.X25519 else 1634)


@pytest.mark.parametrize(("suite", "kem"), [(SuiteId.HYBRID, hpke.KEM.MLKEM768_X25519),
                                           (SuiteId.X25519, hpke.KEM.X25519)])
def test_the_hand_made_hpke_agrees_with_cryptography(suite: SuiteId, kem: hpke.KEM) -> None:
    identity = Identity.generate(suite)
    key = private_key(identity)
    blob = seal(b"x", identity)
    header = parse_header(blob)
    [(_, _, sealed)] = header.stanzas
    info = b"ik-vault-v1 stanza" + header.salt
    if suite is SuiteId.X25519:
        hpke_key: object = key.x25519
    else:
        hpke_key = hpke.MLKEM768X25519PrivateKey(key.mlkem, key.x25519)
    library = hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    assert library.decrypt(sealed, hpke_key, info=info) == hpke_open(key, sealed, info)


def test_files_share_nothing_but_their_recipients() -> None:
    first, second = seal(b"same", HQ), seal(b"same", HQ)
    one, two = parse_header(first), parse_header(second)
    key = private_key(HQ)
    assert one.salt != two.salt
    assert open_header(one, key).data_key != open_header(two, key).data_key


# --- rejection ---------------------------------------------------------------------------------

def segmented() -> tuple[bytes, bytes, int]:
    data = os.urandom(3 * SEGMENT + 100)
    blob = seal(data, HQ, ME)
    return data, blob, parse_header(blob).length + BINDING_LENGTH


@pytest.mark.parametrize("identity", [ME, HQ], ids=["hybrid", "x25519"])
def test_a_flipped_bit_in_any_segment_is_tampering(identity: Identity) -> None:
    _, blob, start = segmented()
    for segment in range(4):
        for where in (0, 500, SEGMENT + 15):  # start, middle, and the tag of a full segment
            position = start + segment * (SEGMENT + 16) + where
            if position >= len(blob):
                position = len(blob) - 1  # the final segment's tag
            damaged = bytearray(blob)
            damaged[position] ^= 0x10
            assert rejection(bytes(damaged), private_key(identity)) == "Tampered", position


def test_a_truncated_file_is_refused_wherever_it_is_cut() -> None:
    _, blob, start = segmented()
    key = private_key(HQ)
    for cut in range(start, len(blob), 37):
        left = (cut - start) % (SEGMENT + 16)
        assert rejection(blob[:cut], key) == ("Truncated" if left < 16 else "Tampered"), cut
    for cut in range(start, len(blob), SEGMENT + 16):  # every segment boundary: no final one
        assert rejection(blob[:cut], key) == "Truncated"


def test_moved_segments_are_reordering() -> None:
    _, blob, start = segmented()
    chunk = SEGMENT + 16
    swapped = (blob[:start] + blob[start + chunk:start + 2 * chunk] + blob[start:start + chunk]
               + blob[start + 2 * chunk:])
    assert rejection(swapped, private_key(ME)) == "Reordered"


def test_a_swapped_header_is_told_from_a_damaged_payload() -> None:
    _, first, start = segmented()
    _, second, other_start = segmented()
    key = private_key(ME)
    swapped = second[:other_start - BINDING_LENGTH] + first[start - BINDING_LENGTH:]
    assert rejection(swapped, key) == "HeaderMismatch"
    damaged = bytearray(first)
    damaged[start - 1] ^= 1  # the binding copy alone
    assert rejection(bytes(damaged), key) == "Tampered"


def test_header_faults_have_their_own_classes() -> None:
    blob = seal(b"x", ME, HQ)
    stranger = private_key(Identity.generate(SuiteId.X25519))
    cases = {
        "NotAVault": b"RIFF" + blob[4:],
        "UnsupportedVersion": blob[:8] + b"\x02" + blob[9:],
        "UnknownSuite": blob[:44] + b"\x09" + blob[45:],
        "Header": blob[:9] + b"\x01" + blob[10:],  # an unknown flag
    }
    for kind, damaged in cases.items():
        assert rejection(damaged, private_key(ME)) == kind
    assert rejection(blob, stranger) == "NotARecipient"
    altered = bytearray(blob)
    altered[44 + 19 + 1168 + 19 + 40] ^= 1  # inside HQ's stanza: ME still opens its own
    assert rejection(bytes(altered), private_key(ME)) == "Header"  # but the MAC fails


# --- crashes (§8) --------------------------------------------------------------------------------

def test_an_unfinished_file_is_refused_and_recovers_its_complete_segments() -> None:
    data = os.urandom(4 * SEGMENT + 700)
    sink = io.BytesIO()
    writer = VaultWriter(sink, [ME.recipient], segment_size=SEGMENT)
    writer.write(data)
    writer.abandon()
    blob = sink.getvalue()
    assert rejection(blob, private_key(ME)) == "Truncated"
    assert spec_recover(blob, private_key(ME)) == (data[:4 * SEGMENT], False)
    assert spec_recover(seal(data, ME), private_key(ME)) == (data, True)


# --- the test vector (§12) ------------------------------------------------------------------------

VECTOR_FILE = bytes.fromhex(
    "89494b560d0a1a0a01000a01"
    "7a4478e9eeff75473cb62e277c016ee25a5456760059140ce666b4a43152bbcc"
    "01a7f0882ee330691e14309d11ea0aca9d0050"
    "74ddd78afe920f25c484a3f9a858ac2d170a30b884ffb592772182b5020f0d53"
    "c7d0afd010cdf1f93cf7a268a9a6a4a2d82f8ade9202a5d02da7e777d51dbd33"
    "ca3e845271a51531e7baebedc340af02"
    "552631682ccc027fcd4e2aa5e1251e23f38358398e5338b0d0d82eb8b8e8f07e"
    "552631682ccc027fcd4e2aa5e1251e23"
    "a947545ffefe7f6f8d935c28735f36c7f6308ceda3"
)


def test_the_key_id_vectors() -> None:
    x_key = PrivateKey(SUITE_X25519, bytes(range(32)))
    h_key = PrivateKey(SUITE_HYBRID, bytes(range(96)))
    assert x_key.public.hex() == (
        "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f")
    assert x_key.key_id.hex() == "a7f0882ee330691e14309d11ea0aca9d"
    assert hashlib.sha256(h_key.public).hexdigest() == (
        "d99e4496af749b54ee4a2d270c8057450624ecc5dc0866295ffc504a26134ad4")
    assert h_key.key_id.hex() == "ce03ea3182286be2f3a6bca8c9a7793a"
    assert Identity(SuiteId.X25519, x_key.raw).key_id == x_key.key_id
    assert Identity(SuiteId.HYBRID, h_key.raw).key_id == h_key.key_id
    assert Identity(SuiteId.X25519, x_key.raw).recipient.to_text() == (
        "ik-x25519-j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8=")


def test_the_decryption_vector() -> None:
    key = PrivateKey(SUITE_X25519, bytes(range(32)))
    assert len(VECTOR_FILE) == 212
    header = parse_header(VECTOR_FILE)
    keys = open_header(header, key)
    assert hashlib.sha256(header.body).hexdigest() == (
        "7b41e85b50f0fb5d99a38c3665e5391f194721002d22b64c668739da50b80663")
    assert keys.data_key.hex() == (
        "eb2eca6a4be642f97f5a034057a5c04a875d78da7d339b7e61ec08107ace32a1")
    assert keys.header_key.hex() == (
        "d753054aa5e9168d142289b8a187595a1d35c3d666137ee2f6a54a362ec19cc3")
    assert keys.payload_key.hex() == (
        "238fc0664e170e1c6008056d505a1b280f3e6add189121967d4845403ba0dbb7")
    assert nonce(keys.nonce_prefix, 0, True).hex() == "6ecf523355d1860000000001"
    assert spec_decode(VECTOR_FILE, key) == b"hello"
