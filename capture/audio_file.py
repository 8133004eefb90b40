"""Encoding audio into any binary sink (a vault writer, typically) with PyAV.

AAC in an ADTS stream: every frame carries its own header, so a stream cut off by a crash
still decodes up to its last complete frame, and nothing needs seeking back to finish.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

import av
import numpy as np

FRAME_SAMPLES = 1024  # AAC's frame length


def encode_aac(samples: np.ndarray[Any, np.dtype[np.float32]], sample_rate: int,
               sink: BinaryIO | io.RawIOBase, bitrate: int = 64_000) -> None:
    """Write mono float32 `samples` (-1..1) to `sink` as AAC/ADTS."""
    with av.open(sink, mode="w", format="adts") as container:
        stream = container.add_stream("aac", rate=sample_rate, layout="mono")
        stream.bit_rate = bitrate
        for start in range(0, len(samples), FRAME_SAMPLES * 8):
            block = np.ascontiguousarray(samples[start:start + FRAME_SAMPLES * 8],
                                         dtype=np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
