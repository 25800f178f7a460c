#!/usr/bin/python3
"""PyTorch side of bench/spandrel_compare.sh: builds one of spandrel 0.4.2's networks in a published size with
seeded random weights, saves its state dict for uprez and times PyTorch's forward pass (fp32, NCHW) on a
size x size input with the given thread count. Needs torch and spandrel 0.4.2 importable (pip install
spandrel==0.4.2, or PYTHONPATH naming its source's libs/spandrel)."""
import argparse

from pytorch_reference import benchmark

# The published small configurations (the papers' "-S"/"light" models and spandrel's RealPLKSR default), x4.
CONFIGS = {
    "swinir-s": ("spandrel.architectures.SwinIR.__arch.SwinIR", "SwinIR", dict(
        upscale=4, img_size=64, window_size=8, img_range=1.0, depths=[6, 6, 6, 6], embed_dim=60,
        num_heads=[6, 6, 6, 6], mlp_ratio=2, upsampler="pixelshuffledirect")),
    "hat-s": ("spandrel.architectures.HAT.__arch.HAT", "HAT", dict(
        upscale=4, img_size=64, window_size=16, compress_ratio=24, squeeze_factor=24, conv_scale=0.01,
        overlap_ratio=0.5, img_range=1.0, depths=[6] * 6, embed_dim=144, num_heads=[6] * 6, mlp_ratio=2,
        upsampler="pixelshuffle", resi_connection="1conv")),
    "dat-light": ("spandrel.architectures.DAT.__arch.DAT", "DAT", dict(
        upscale=4, img_size=64, img_range=1.0, depth=[18], embed_dim=60, num_heads=[6], expansion_factor=2,
        resi_connection="3conv", split_size=[8, 32], upsampler="pixelshuffledirect")),
    "omnisr": ("spandrel.architectures.OmniSR.__arch.OmniSR", "OmniSR", dict(
        num_in_ch=3, num_out_ch=3, num_feat=64, window_size=8, res_num=5, up_scale=4, bias=True, block_num=1,
        pe=True)),
    "realplksr": ("spandrel.architectures.PLKSR.__arch.RealPLKSR", "RealPLKSR", dict(
        dim=64, n_blocks=28, upscaling_factor=4, kernel_size=17, split_ratio=0.25, use_ea=True, norm_groups=4)),
}


def build(name):
    import importlib

    module, class_name, kwargs = CONFIGS[name]
    return getattr(importlib.import_module(module), class_name)(**kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=sorted(CONFIGS))
    parser.add_argument("--save", required=True)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()

    benchmark(lambda: build(args.model), args.model, args)


if __name__ == "__main__":
    main()
