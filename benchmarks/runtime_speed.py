"""conv5 extraction speed of the exported runtimes beside TensorFlow's path.

SoundNet-8 up to conv5 (the released weights), the same audio, each engine
timed alternately ``--repeats`` times so that load from other processes
falls on all alike:

- ``tensorflow``: the project's path (``sk.FeatureExtractor("conv5")``: the
  folded inference plan in TensorFlow), what ``extract`` and ``beam`` use;
- ``onnxruntime``: the ONNX export (``soundnet-keras export --format
  onnx``) in ONNX Runtime's CPU provider;
- ``litert``: the LiteRT export in ``ai-edge-litert``'s interpreter;
- ``openvino``: the ONNX export compiled by OpenVINO for the CPU in
  float32, where OpenVINO is installed.

Cases: 16 clips of 20 s in one batch; one 10-minute recording. Each engine's
output is compared with TensorFlow's (largest difference relative to the
largest activation). Reported: median times real time, the ratio to
TensorFlow's path (median and range over repeats), and the share of the
machine's float32 matmul peak measured in the same run (conv FLOPs per
second of audio times real-time speed, over TensorFlow's matmul GFLOP/s).

Writes ``benchmarks/results/runtime_speed.json``. Run:
``python benchmarks/runtime_speed.py [--repeats 5]``.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402

import soundnet_keras as sk  # noqa: E402
from extraction_speed import (_noise, conv_flops_per_second,  # noqa: E402
                              side_by_side as timed)
from provenance import matmul_gflops, provenance, write_result  # noqa: E402

OUT = Path(__file__).parent / "results" / "runtime_speed.json"


def engines(folder):
    """``{name: run(batch (n, samples) float32 in [-1, 1]) -> (n, frames,
    256)}`` for every engine installed."""
    from soundnet_keras.export import export_model
    model = sk.SoundNet8(include_top=False)
    extractor = sk.FeatureExtractor("conv5", model)
    runs = {"tensorflow": lambda x: np.asarray(extractor(x))}
    onnx = export_model("soundnet8_flickr", folder, "onnx", layer="conv5")
    if importlib.util.find_spec("onnxruntime"):
        import onnxruntime as ort
        session = ort.InferenceSession(str(onnx),
                                       providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        runs["onnxruntime"] = lambda x: session.run(
            None, {name: x[..., None]})[0]
    if importlib.util.find_spec("openvino"):
        import openvino as ov
        # float32 throughout (by default OpenVINO computes in bf16 on CPUs
        # that have it: about 1% off TensorFlow's output)
        compiled = ov.Core().compile_model(
            str(onnx), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        runs["openvino"] = lambda x: compiled(x[..., None])[0]
    if importlib.util.find_spec("ai_edge_litert"):
        from ai_edge_litert.interpreter import Interpreter
        tflite = export_model("soundnet8_flickr", folder, "litert",
                              layer="conv5")
        interpreter = Interpreter(model_path=str(tflite))

        def litert(x):
            index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(index, (*x.shape, 1))
            interpreter.allocate_tensors()
            interpreter.set_tensor(index, x[..., None])
            interpreter.invoke()
            return interpreter.get_tensor(
                interpreter.get_output_details()[0]["index"])
        runs["litert"] = litert
    return runs


def side_by_side(runs, batch, audio_s, repeats):
    """Each engine on ``batch``: its output against TensorFlow's, then all
    timed alternately (``extraction_speed.side_by_side``), with the
    per-repeat ratio of TensorFlow's time to each engine's."""
    reference = runs["tensorflow"](batch)
    row = {f"{name}_max_diff": float(np.abs(np.asarray(run(batch))
                                            - reference).max()
                                     / np.abs(reference).max())
           for name, run in runs.items()}
    row.update(timed({name: (lambda run=run: run(batch))
                      for name, run in runs.items()}, audio_s, repeats))
    for name in runs:
        ratios = [a / b for a, b in zip(row["tensorflow_seconds"],
                                        row[f"{name}_seconds"])]
        row.update({f"{name}_ratio": statistics.median(ratios),
                    f"{name}_ratio_min": min(ratios),
                    f"{name}_ratio_max": max(ratios)})
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    gflops = matmul_gflops()
    with tempfile.TemporaryDirectory() as folder:
        runs = engines(folder)
        cases = {"16 clips of 20 s": (np.stack([_noise(20, s)
                                               for s in range(16)]), 320),
                 "10-minute recording": (_noise(600)[None], 600)}
        rows = [dict(case=case, **side_by_side(runs, batch, seconds,
                                               args.repeats))
                for case, (batch, seconds) in cases.items()]
    mflop = conv_flops_per_second("conv5") / 1e6
    after = matmul_gflops()
    for row in rows:
        for name in runs:
            row[f"{name}_peak_share"] = row[f"{name}_x"] * mflop / (
                1e3 * max(gflops["tensorflow"], after["tensorflow"]))
    versions = {}
    for name in ("onnxruntime", "openvino", "ai_edge_litert", "tensorflow"):
        if importlib.util.find_spec(name):
            module = __import__(name)
            versions[name] = getattr(module, "__version__", None)
    result = dict(provenance=provenance(), layer="conv5",
                  weights="soundnet8_flickr", repeats=args.repeats,
                  engines=list(runs), versions=versions,
                  mflop_per_audio_s=mflop,
                  matmul_gflops=dict(before=gflops, after=after), rows=rows)
    header = "| case | " + " | ".join(runs) + " |"
    lines = [header, "|---|" + "---:|" * len(runs)]
    for row in rows:
        lines.append(f"| {row['case']} | " + " | ".join(
            f"{row[f'{n}_x']:.0f}x ({row[f'{n}_ratio']:.2f})" for n in runs)
            + " |")
    write_result(Path(args.out), result, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
