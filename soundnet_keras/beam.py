"""Feature extraction at scale: an Apache Beam pipeline (``pip install
soundnet-keras[beam]``).

Inputs are files, folders (every wav, flac, ogg and mp3 below them) or
glob patterns (``**`` crosses folders) on any file system Beam knows (local,
``gs://``, ``s3://``...), matched when the pipeline is built. Each file gives
one ``.npz`` (``values``, ``times``, as :func:`extract_features` returns
them) whose path mirrors the input's path below the inputs' common folder,
extension kept (``a/x.wav`` -> ``OUT/a/x.wav.npz``), so names never collide.
A file is written to a temporary name and renamed, and a file whose output
exists is skipped: a rerun (after a crash, or with more inputs) does only
what is left. Files that cannot be read or are too short go, with the
error, to ``OUT/_failures.tsv``. Each worker loads the model once
(``DoFn.setup``). The runner is Beam's DirectRunner unless another is
given, with its own options.

Example:
    >>> import tempfile, soundfile
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("a/x.wav", "b/x.wav"):
    ...     os.makedirs(os.path.dirname(f"{folder}/in/{name}"), exist_ok=True)
    ...     soundfile.write(f"{folder}/in/{name}", np.zeros(44100), 22050)
    >>> extract_pipeline([f"{folder}/in"], f"{folder}/out", weights=None)
    {'written': 2, 'skipped': 0, 'failed': 0}
    >>> sorted(os.listdir(f"{folder}/out")), os.listdir(f"{folder}/out/b")
    (['_failures.tsv', 'a', 'b'], ['x.wav.npz'])
"""

import io
import os
import posixpath

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
FAILURES = "_failures.tsv"


def match_inputs(inputs):
    """Sorted unique audio files of files, folders and glob patterns.

    A file or pattern that matches nothing is kept as it is, so that it
    shows up among the failures instead of vanishing.
    """
    found = []
    for item in inputs:
        item = str(item)
        if os.path.isdir(item):
            item = posixpath.join(item, "**")
        if not any(ch in item for ch in "*?["):
            found.append(item)
            continue
        result = FileSystems.match([item])[0]
        found += [m.path for m in result.metadata_list
                  if m.path.lower().endswith(AUDIO_EXTENSIONS)]
    return sorted(set(found))


def input_root(inputs):
    """The common folder of the inputs: of each folder, each file's folder,
    and each pattern's part before its first wildcard."""
    heads = []
    for item in map(str, inputs):
        if os.path.isdir(item):
            heads.append(item.rstrip("/") + "/")
            continue
        cut = min([item.index(ch) for ch in "*?[" if ch in item],
                  default=len(item))
        heads.append(item[:cut])
    if all("://" not in h for h in heads):
        return os.path.commonpath([os.path.dirname(os.path.abspath(h))
                                   if not h.endswith("/") else
                                   os.path.abspath(h) for h in heads])
    return posixpath.dirname(os.path.commonprefix(heads))


def output_path(path, root, out_dir):
    """Where the features of ``path`` go: its path below ``root``, under
    ``out_dir``, with ``.npz`` appended
    (:func:`soundnet_keras.outputs.plan_outputs`, as ``extract``)."""
    from .outputs import plan_outputs
    return str(plan_outputs([path], out_dir, ".npz", root=root)[0])


def _read(path):
    from .audio import load_audio
    if "://" not in path:
        return load_audio(path)
    import soundfile
    from .audio import check_waveform, resample
    with FileSystems.open(path) as f:
        data, rate = soundfile.read(io.BytesIO(f.read()), dtype="float32",
                                    always_2d=True)
    return check_waveform(resample(data[:, 0], rate, 22050), 22050,
                          source=path)


class ExtractFn(beam.DoFn):
    """Extracts and writes one file's features; tags failures ``failed``."""

    def __init__(self, root, out_dir, layer, weights, pad):
        self.root, self.out_dir, self.layer = root, out_dir, layer
        self.weights, self.pad = weights, pad
        self.written = beam.metrics.Metrics.counter("soundnet", "written")
        self.skipped = beam.metrics.Metrics.counter("soundnet", "skipped")
        self.failed = beam.metrics.Metrics.counter("soundnet", "failed")

    def setup(self):
        # Once per worker: the model and its compiled extractor.
        from .features import FeatureExtractor
        from .models import SoundNet8
        model = SoundNet8(include_top=self.layer in ("conv8", "conv8_2"),
                          weights=self.weights)
        self.extractor = FeatureExtractor(self.layer, model)

    def process(self, path):
        from .features import extract_features
        target = output_path(path, self.root, self.out_dir)
        if FileSystems.exists(target):
            self.skipped.inc()
            return
        try:
            values, times = extract_features(
                _read(path), 22050, self.layer, model=self.extractor,
                pad=self.pad)
        except (OSError, ValueError) as err:
            self.failed.inc()
            yield beam.pvalue.TaggedOutput("failed", f"{path}\t{err}")
            return
        buffer = io.BytesIO()
        np.savez(buffer, values=values, times=times)
        tmp = target + ".part"
        with FileSystems.create(tmp) as f:
            f.write(buffer.getvalue())
        FileSystems.rename([tmp], [target])
        self.written.inc()
        yield target


def extract_pipeline(inputs, out_dir, layer="conv5",
                     weights="soundnet8_flickr", pad=False, root=None,
                     runner=None, workers=None, options=()):
    """Runs the extraction pipeline and waits for it.

    Args:
        inputs: files, folders or glob patterns.
        out_dir: the output folder (any Beam file system).
        layer: the feature layer of SoundNet-8.
        weights: a preset, ``None`` (random) or a ``.weights.h5`` path.
        pad: zero-pad audio too short for one frame.
        root: the folder whose tree the outputs mirror (default: the
            inputs' common folder, :func:`input_root`); give the same one
            when a rerun names its inputs differently.
        runner: a Beam runner name (default ``DirectRunner``).
        workers: the DirectRunner's worker processes (default 1).
        options: more Beam pipeline options (``["--project=p", ...]``).

    Returns:
        ``{"written": n, "skipped": n, "failed": n}``.
    """
    from .specs import FEATURE_LAYERS
    if layer not in FEATURE_LAYERS:
        raise ValueError(f"Unknown layer {layer!r}. Feature layers: "
                         f"{list(FEATURE_LAYERS)}")
    inputs, out_dir = [str(item) for item in inputs], str(out_dir)
    paths = match_inputs(inputs)
    if not paths:
        raise ValueError(f"no audio files in {inputs}")
    root = str(root) if root is not None else input_root(inputs)
    paths = [p if "://" in p else os.path.abspath(p) for p in paths]
    args = [f"--runner={runner or 'DirectRunner'}", *options]
    if workers:
        args += [f"--direct_num_workers={workers}",
                 "--direct_running_mode=multi_processing"]
    pipeline = beam.Pipeline(options=PipelineOptions(args))
    results = (pipeline
               | "files" >> beam.Create(paths)
               | "spread" >> beam.Reshuffle()
               | "extract" >> beam.ParDo(ExtractFn(
                   root, out_dir, layer, weights, pad)).with_outputs(
                       "failed", main="written"))
    _ = (results.failed
         | "failures" >> beam.io.WriteToText(
             FileSystems.join(out_dir, FAILURES), shard_name_template="",
             num_shards=1))
    result = pipeline.run()
    result.wait_until_finish()
    counts = {name: 0 for name in ("written", "skipped", "failed")}
    for counter in result.metrics().query()["counters"]:
        counts[counter.key.metric.name] += counter.committed or 0
    return counts
