"""Writes a 12 s synthetic demo recording (used by `make demo` when the
golden recordings of ../shared are absent): a train-horn-like harmonic chord
over rumbling low-passed noise."""

import sys

import numpy as np
import soundfile

rate = 22050
t = np.arange(12 * rate) / rate
rng = np.random.default_rng(0)
noise = np.convolve(rng.standard_normal(t.size), np.ones(64) / 64, "same")
horn = sum(np.sin(2 * np.pi * f * t) for f in (311, 370, 466)) / 3
envelope = np.clip(np.sin(np.pi * t / 12), 0, 1) ** 2
audio = 0.4 * noise + 0.3 * horn * envelope
soundfile.write(sys.argv[1], (audio / np.abs(audio).max() * 0.9), rate)
