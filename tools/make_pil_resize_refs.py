#!/usr/bin/python3
"""Writes the reference data of tests/image/pil_resize_test.cpp: small noise images (gray, gray+alpha, RGB, RGBA)
resized by Pillow's Image.resize with every filter, up, down and along one axis only, as PNG files, and
cases.txt listing them ("input expected filter width height" per line).

Run with Debian 12's Pillow 9.4 (apt-get install python3-pil python3-numpy):
    /usr/bin/python3 tools/make_pil_resize_refs.py [tests/image/data/pil_resize]
"""
import os
import sys

import numpy as np
import PIL
from PIL import Image

FILTERS = ["NEAREST", "BOX", "BILINEAR", "HAMMING", "BICUBIC", "LANCZOS"]

# name, PIL mode, width, height; the targets: shrink, enlarge, width only, height only.
INPUTS = [
    ("rgb", "RGB", 15, 11, [(9, 7), (26, 19), (22, 11), (15, 6)]),
    ("gray", "L", 13, 9, [(5, 4), (21, 17), (7, 9), (13, 16)]),
    ("rgba", "RGBA", 9, 7, [(5, 4), (14, 11), (13, 7), (9, 3)]),
    ("la", "LA", 8, 6, [(3, 5), (13, 9), (5, 6), (8, 11)]),
]


def noise_image(rng, mode, width, height):
    bands = len(mode)
    pixels = rng.integers(0, 256, size=(height, width, bands), dtype=np.uint8)
    if mode.endswith("A"):  # alpha: fully transparent, opaque and in between
        pixels[..., -1] = rng.choice([0, 255, 1, 37, 128, 200, 254], size=(height, width))
    return Image.fromarray(pixels[..., 0] if bands == 1 else pixels, mode)


def main():
    if PIL.__version__.split(".")[:2] != ["9", "4"]:
        sys.exit(f"needs Pillow 9.4 (Debian 12's python3-pil), found {PIL.__version__}")
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "image", "data", "pil_resize")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240611)
    lines = []
    for name, mode, width, height, targets in INPUTS:
        image = noise_image(rng, mode, width, height)
        input_file = f"{name}.png"
        image.save(os.path.join(out_dir, input_file), optimize=True)
        for filter_name in FILTERS:
            for w, h in targets:
                resized = image.resize((w, h), resample=getattr(Image.Resampling, filter_name))
                expected = f"{name}_{filter_name.lower()}_{w}x{h}.png"
                resized.save(os.path.join(out_dir, expected), optimize=True)
                lines.append(f"{input_file} {expected} {filter_name.lower()} {w} {h}")
    with open(os.path.join(out_dir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
