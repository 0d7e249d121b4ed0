"""Audio in: formats, first channel, resampling, scaling and clear errors."""

import warnings

import numpy as np
import pytest
import soundfile

import soundnet_keras as sk


def _tone(rate, seconds, freq=440.0, channels=2):
    t = np.arange(int(rate * seconds)) / rate
    left = 0.5 * np.sin(2 * np.pi * freq * t)
    right = 0.25 * np.sin(2 * np.pi * 3 * freq * t)
    return np.stack([left, right][:channels], axis=1)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_formats_read_first_channel(tmp_path, ext):
    path = tmp_path / f"x.{ext}"
    soundfile.write(path, _tone(22050, 2.0), 22050)
    waveform = sk.load_audio(path)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert abs(waveform.size - 44100) <= 2000  # lossy codecs add priming
    # First channel: a 440 Hz tone at amplitude 0.5 (not the 1320 Hz right).
    spectrum = np.abs(np.fft.rfft(waveform[:22050]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)
    assert np.max(np.abs(waveform)) == pytest.approx(0.5, abs=0.05)


def test_resampling_keeps_frequency_and_duration(tmp_path):
    path = tmp_path / "x.wav"
    soundfile.write(path, _tone(44100, 3.0, freq=1000.0), 44100)
    waveform = sk.load_audio(path, sample_rate=22050)
    assert waveform.size == 3 * 22050
    spectrum = np.abs(np.fft.rfft(waveform[11025:33075]))
    assert np.argmax(spectrum) == pytest.approx(1000, abs=1)
    assert np.max(np.abs(waveform[1000:-1000])) == pytest.approx(0.5,
                                                                 abs=0.01)


def test_scaling_happens_in_preprocess_input():
    x = np.array([1.0, -0.5, 0.0], dtype=np.float32)
    assert np.array_equal(sk.preprocess_input(x), [256.0, -128.0, 0.0])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such audio file"):
        sk.load_audio(tmp_path / "nope.wav")


def test_unreadable_file(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"this is not audio" * 10)
    with pytest.raises(ValueError, match="garbage.wav: cannot read audio"):
        sk.load_audio(path)


def test_zero_length(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros((0, 1)), 22050)
    with pytest.raises(ValueError, match="zero length"):
        sk.load_audio(path)


def test_nan_and_inf(tmp_path):
    data = _tone(22050, 1.0, channels=1)
    data[10] = np.nan
    data[20] = np.inf
    path = tmp_path / "bad.wav"
    soundfile.write(path, data, 22050, subtype="FLOAT")
    with pytest.raises(ValueError, match="2 samples are NaN or infinite"):
        sk.load_audio(path)


def test_too_short_gives_minimum_duration_or_pads(tmp_path):
    path = tmp_path / "short.wav"
    soundfile.write(path, _tone(22050, 2.0, channels=1), 22050)
    with pytest.raises(ValueError, match=r"2.000 s of audio is too short for "
                       r"layer 'conv8' of soundnet8, which needs at least "
                       r"9.495 s \(209374 samples at 22050 Hz\); pass "
                       r"pad=True"):
        sk.load_audio(path, layer="conv8")
    padded = sk.load_audio(path, layer="conv8", pad=True)
    assert padded.size == 209374 and np.all(padded[44100:] == 0)
    assert sk.load_audio(path, layer="conv5").size == 44100


def test_truncated_wav_warns(tmp_path):
    full = tmp_path / "full.wav"
    soundfile.write(full, np.zeros(44100), 22050, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:44 + 22050])
    with pytest.warns(UserWarning, match=r"cut.wav: truncated: its header "
                      r"declares 2.000 s, the file holds 0.500 s"):
        assert sk.load_audio(cut).size == 11025
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk.load_audio(full)


def test_silent_first_channel_warns(tmp_path):
    path = tmp_path / "right.wav"
    data = np.zeros((22050, 2), np.float32)
    data[:, 1] = 0.5
    soundfile.write(path, data, 22050)
    with pytest.warns(UserWarning, match="right.wav: the first channel is "
                      "silent, channel 2 of 2 is not.*remix 2"):
        sk.load_audio(path)


def test_float_wav_outside_unit_range_warns(tmp_path):
    path = tmp_path / "loud.wav"
    soundfile.write(path, np.full(22050, 40.0, np.float32), 22050,
                    subtype="FLOAT")
    with pytest.warns(UserWarning, match=r"loud.wav: samples reach 40, "
                      r"outside \[-1, 1\]"):
        assert sk.load_audio(path).max() == 40.0


@pytest.mark.parametrize("subtype,dtype", [("PCM_16", "int16"),
                                           ("PCM_32", "int32"),
                                           ("PCM_U8", "uint8")])
def test_integer_arrays_are_scaled_as_soundfile_reads_them(tmp_path, subtype,
                                                           dtype):
    """An integer array is scaled by its type's range, exactly as
    soundfile turns the same PCM file into floats (int16 given as float
    was 32,767x too large before)."""
    from soundnet_keras.audio import as_waveform
    path = tmp_path / "x.wav"
    soundfile.write(path, _tone(16000, 0.5, channels=1), 16000,
                    subtype=subtype)
    if dtype == "uint8":   # soundfile has no uint8 reader: the raw bytes
        raw = np.frombuffer(path.read_bytes()[-8000:], np.uint8)
    else:
        raw = soundfile.read(path, dtype=dtype)[0]
    floats = soundfile.read(path, dtype="float64")[0][-len(raw):]
    np.testing.assert_array_equal(as_waveform(raw), floats.astype(np.float32))


def test_integer_audio_gives_the_float_audio_features_and_predictions():
    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal(22050 * 3) * 3000).astype(np.int16)
    floats = pcm / np.float32(32768)
    model = sk.SoundNet8(weights=None, include_top=False)
    np.testing.assert_array_equal(
        sk.extract_features(pcm, model=model, layer="conv3",
                            sample_rate=22050)[0],
        sk.extract_features(floats, model=model, layer="conv3",
                            sample_rate=22050)[0])


@pytest.mark.parametrize("bad,error,message", [
    ("clip.wav", TypeError, "got the path 'clip.wav' where samples are "
     r"expected; read the file first \(sk.load_audio"),
    (np.array([True, False]), TypeError, "samples of type bool cannot be "
     "audio"),
    (np.array([0.1, np.nan, np.inf, 0.2]), ValueError,
     "2 samples are NaN or infinite"),
])
def test_bad_arrays_are_refused_at_the_door(bad, error, message):
    model = sk.SoundNet8(weights=None, include_top=False)
    with pytest.raises(error, match=message):
        sk.extract_features(bad, model=model, layer="conv3",
                            sample_rate=16000)


def test_nan_counted_before_resampling():
    """NaNs are counted in the samples given, not after soxr spread them."""
    x = np.zeros(16000, np.float32)
    x[100] = np.nan
    with pytest.raises(ValueError, match="^waveform: 1 samples are NaN"):
        sk.audio.resample(x, 16000, 22050)
