"""Keyed pseudonymisation of patient identifiers (HMAC-SHA-256, first 128 bits).

The same patient gets the same pseudonym in every file loaded with the same key, so
re-admissions and transfers can still be linked, while the raw identifier is never stored.
128 bits (32 hex characters): over a billion distinct patients (years of national data) the
chance that any two share a pseudonym is about n²/2¹²⁹ ≈ 10⁻²¹. The 64 bits used before 0.2
gave about 3 % at a billion patients and 0.2 % for one year's 250 M — too high for linkage.

Stores loaded before the change hold 64-bit pseudonyms. Both widths are prefixes of the same
HMAC, so ``left(patient_id, 16)`` links a patient across old and new loads with the same key;
reloading the source files (``nrmc flows ingest``) widens the old rows (docs/flows.md).

Speed matters (hundreds of millions of ids): the two key-dependent SHA-256 states of HMAC
(key ⊕ ipad, key ⊕ opad; RFC 2104) are computed once and copied per id, which is three times
faster than ``hmac.digest`` re-deriving them every call. Ingest hashes Arrow columns
(:func:`pseudonymise_arrow`): the ids become Python bytes in one C loop (a zero-copy cast to
binary, then ``to_pylist``) and the digests turn to hex in one NumPy step, so the per-id Python
work is the four hashlib calls (≈ 0.9 µs per id on a busy machine, where slicing the buffer per
id in Python cost 1.3 µs). DuckDB's own ``sha256`` computes the same HMAC in SQL
(``sha256(opad || unhex(sha256(ipad || id)))``) but, hashing four blocks per id instead of two,
it takes as much CPU or more (1.0–1.5 times, measured).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc  # noqa: F401 - pa.ipc

DIGEST_BYTES = 16
PSEUDONYM_BITS = DIGEST_BYTES * 8
_BLOCK = 64  # SHA-256 block size in bytes
_SLICE = 16_384  # ids turned into Python objects at a time


def pseudonymise_one(raw: str, key: str) -> str:
    """Reference implementation (the standard library's HMAC); the fast path must equal it."""
    return hmac.digest(key.encode(), str(raw).encode(), "sha256")[:DIGEST_BYTES].hex()


def _pads(key: str) -> tuple[bytes, bytes]:
    """The first block of each HMAC pass: the padded key ⊕ ipad and ⊕ opad (RFC 2104)."""
    secret = key.encode()
    if len(secret) > _BLOCK:
        secret = hashlib.sha256(secret).digest()
    secret = secret.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in secret), bytes(b ^ 0x5C for b in secret)


def _states(key: str) -> tuple[Any, Any]:
    """SHA-256 after absorbing key ⊕ ipad and key ⊕ opad."""
    inner, outer = _pads(key)
    return hashlib.sha256(inner), hashlib.sha256(outer)


_HEX = np.array([f"{i:02x}".encode() for i in range(256)]).view(np.uint16)


def pseudonymise_arrow(raw_ids: pa.Array | pa.ChunkedArray, key: str) -> pa.ChunkedArray:
    """HMAC-SHA-256 pseudonyms (hex, 128 bits) of a string Arrow array without nulls; equal to
    :func:`pseudonymise_one` for every id (UTF-8 bytes of the id, as ``str.encode``)."""
    chunks = raw_ids.chunks if isinstance(raw_ids, pa.ChunkedArray) else [raw_ids]
    return pa.chunked_array([_pseudonymise_chunk(c, key) for c in chunks], pa.string())


_CTX_BYTES = 112  # OpenSSL's SHA256_CTX (see native/hmac_batch.c)


@lru_cache(maxsize=1)
def _native_hmac() -> Any | None:
    """The C loop over libcrypto (native/hmac_batch.c), or None where it cannot be built."""
    from .native import build

    library = ctypes.util.find_library("crypto")
    lib = build.load("hmac_batch", (library,)) if library else None
    if lib is None:
        return None
    lib.nrmc_hmac_states.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p,
                                     ctypes.c_void_p]
    lib.nrmc_hmac_states.restype = None
    lib.nrmc_hmac_many.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.c_void_p, ctypes.c_int, ctypes.c_int64,
                                   ctypes.c_void_p, ctypes.c_int]
    lib.nrmc_hmac_many.restype = None
    return lib


def native_available() -> bool:
    """Whether pseudonyms are hashed by the C loop (then no helper processes are worth it)."""
    return _native_hmac() is not None


@lru_cache(maxsize=8)
def _native_states(key: str) -> tuple[Any, Any]:
    lib = _native_hmac()
    assert lib is not None  # called only when the C loop is available
    inner, outer = ctypes.create_string_buffer(_CTX_BYTES), ctypes.create_string_buffer(_CTX_BYTES)
    lib.nrmc_hmac_states(*_pads(key), inner, outer)
    return inner, outer


def _native_digests(ids: pa.Array, key: str) -> np.ndarray | None:
    """The first DIGEST_BYTES of each id's HMAC, (n, DIGEST_BYTES) uint8, computed in C straight
    from the Arrow buffers (the GIL released); None where the native loop is unavailable."""
    lib = _native_hmac()
    if lib is None:
        return None
    n = len(ids)
    wide = ids.type == pa.large_string()
    _, offsets, data = ids.buffers()
    width = 8 if wide else 4
    out = np.empty(n * DIGEST_BYTES, np.uint8)
    inner, outer = _native_states(key)
    lib.nrmc_hmac_many(inner, outer, data.address if data is not None else out.ctypes.data,
                       offsets.address + ids.offset * width, int(wide), n, out.ctypes.data,
                       DIGEST_BYTES)
    return out.reshape(n, DIGEST_BYTES)


def _pseudonymise_chunk(raw_ids: pa.Array, key: str) -> pa.Array:
    ids = raw_ids if raw_ids.type in (pa.string(), pa.large_string()) else raw_ids.cast(pa.string())
    n = len(ids)
    if n == 0:
        return pa.array([], pa.string())
    if ids.null_count:
        raise ValueError("patient ids must not be null")
    first = _native_digests(ids, key)
    if first is None:
        first = _python_digests(ids, key)
    text = _HEX[first.reshape(-1)].tobytes()
    width = 2 * DIGEST_BYTES
    return pa.Array.from_buffers(pa.string(), n, [
        None, pa.py_buffer(np.arange(0, width * n + 1, width, dtype=np.int32)),
        pa.py_buffer(text)])


def _python_digests(ids: pa.Array, key: str) -> np.ndarray:
    """As `_native_digests`, with hashlib (the path where no C compiler or libcrypto is found)."""
    n = len(ids)
    # the ids as Python bytes (a zero-copy cast to binary, then one C loop): cheaper than
    # slicing the data buffer per id in Python, which cost a third of the loop. A slice at a
    # time, so the small objects reuse the same memory instead of faulting in fresh pages.
    raw = ids.cast(pa.large_binary() if ids.type == pa.large_string() else pa.binary())
    inner, outer = _states(key)
    copy_in, copy_out = inner.copy, outer.copy
    out = bytearray()
    for start in range(0, n, _SLICE):
        digests: list[bytes] = []
        keep = digests.append
        for one in raw.slice(start, _SLICE).to_pylist():
            h = copy_in()
            h.update(one)
            o = copy_out()
            o.update(h.digest())
            keep(o.digest())
        out += b"".join(digests)
    return np.ascontiguousarray(np.frombuffer(out, np.uint8).reshape(n, -1)[:, :DIGEST_BYTES])


def pseudonymise(raw_ids: Sequence[str] | np.ndarray, key: str) -> np.ndarray:
    """HMAC-SHA-256 pseudonyms (hex, 128 bits) for ``raw_ids``; same order, object array."""
    values = np.asarray(raw_ids)
    if len(values) == 0:
        return np.array([], dtype=object)
    uniq, inverse = np.unique(values, return_inverse=True)
    inner, outer = _states(key)
    out = np.empty(len(uniq), dtype=object)
    for i, raw in enumerate(uniq.tolist()):
        h_in = inner.copy()
        h_in.update(str(raw).encode())
        h_out = outer.copy()
        h_out.update(h_in.digest())
        out[i] = h_out.digest()[:DIGEST_BYTES].hex()
    return out[inverse.reshape(-1)]


class PseudonymProcess:
    """:func:`pseudonymise_arrow` in a child Python process, fed over pipes as Arrow streams.

    The HMAC loop holds the GIL for about a microsecond per id; run in ingest's own process it
    would stall the threads that read and check the next batch. A plain child process (not
    ``multiprocessing``, which would re-import the caller's ``__main__``) receives each batch
    of raw ids and answers with their pseudonyms, in order. The key travels in the stream's
    metadata over the pipe, never on a command line. If the parent dies, the child reads
    end-of-file and exits.
    """

    def __init__(self, key: str) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._proc = subprocess.Popen([sys.executable, "-m", "nrmc.flows.pseudonym"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        schema = pa.schema([("id", pa.string())], metadata={"key": key})
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._send = pa.ipc.new_stream(self._proc.stdin, schema)
        self._receive: pa.RecordBatchStreamReader | None = None
        self._schema = schema

    def pseudonymise(self, raw_ids: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
        self.send(raw_ids)
        return pa.chunked_array([self.receive()], pa.string())

    def send(self, raw_ids: pa.ChunkedArray | pa.Array) -> None:
        """Hand over a batch of raw ids; its pseudonyms come back, in order, by :meth:`receive`."""
        ids = raw_ids.combine_chunks() if isinstance(raw_ids, pa.ChunkedArray) else raw_ids
        self._send.write_batch(pa.record_batch([ids.cast(pa.string())], schema=self._schema))
        self._proc.stdin.flush()  # type: ignore[union-attr]

    def receive(self) -> pa.Array:
        if self._receive is None:
            self._receive = pa.ipc.open_stream(self._proc.stdout)
        return self._receive.read_next_batch().column(0)

    def close(self) -> None:
        try:
            self._send.close()
            self._proc.stdin.close()  # type: ignore[union-attr]
            self._proc.wait(timeout=30)
        except (OSError, ValueError, subprocess.TimeoutExpired, pa.ArrowException):
            self._proc.kill()
            self._proc.wait()


class PseudonymPool:
    """Batches split over several :class:`PseudonymProcess` helpers, one slice each.

    At about a microsecond per id the HMAC is the longest stage of a load, and one helper
    runs it on one core; with a slice per helper it runs on as many as there are helpers. Each
    helper is idle when a batch is sent (one batch at a time), so every send completes before
    the first answer is read.
    """

    def __init__(self, key: str, size: int) -> None:
        self._helpers: list[PseudonymProcess] = []
        try:
            for _ in range(size):
                self._helpers.append(PseudonymProcess(key))
        except BaseException:
            self.close()
            raise

    def pseudonymise(self, raw_ids: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
        n = len(raw_ids)
        step = max(1, -(-n // len(self._helpers)))
        used = self._helpers[:-(-n // step)] if n else []
        for i, helper in enumerate(used):
            helper.send(raw_ids.slice(i * step, step))
        return pa.chunked_array([helper.receive() for helper in used], pa.string())

    def close(self) -> None:
        for helper in self._helpers:
            helper.close()


def _serve() -> None:
    """The child side of :class:`PseudonymProcess`: raw ids in, pseudonyms out, until EOF."""
    reader = pa.ipc.open_stream(sys.stdin.buffer)
    key = reader.schema.metadata[b"key"].decode()
    out = pa.schema([("patient_id", pa.string())])
    with pa.ipc.new_stream(sys.stdout.buffer, out) as writer:
        for batch in reader:
            writer.write_batch(pa.record_batch(
                [pseudonymise_arrow(batch.column(0), key).combine_chunks()], schema=out))
            sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
