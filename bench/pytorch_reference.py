#!/usr/bin/python3
"""PyTorch side of bench/pytorch_compare.sh: builds a network with seeded random weights, saves its state dict
for uprez, and times PyTorch's default (NCHW, fp32) forward pass on the same input size and thread count."""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Compact(nn.Module):
    """SRVGGNetCompact with PReLU, keys body.N as in Real-ESRGAN."""

    def __init__(self, features, convs, scale):
        super().__init__()
        layers = [nn.Conv2d(3, features, 3, 1, 1), nn.PReLU(features)]
        for _ in range(convs):
            layers += [nn.Conv2d(features, features, 3, 1, 1), nn.PReLU(features)]
        layers += [nn.Conv2d(features, 3 * scale * scale, 3, 1, 1)]
        self.body = nn.Sequential(*layers)
        self.upsampler = nn.PixelShuffle(scale)
        self.scale = scale

    def forward(self, x):
        out = self.upsampler(self.body(x))
        return out + F.interpolate(x, scale_factor=self.scale, mode="nearest")


class DenseBlock(nn.Module):
    def __init__(self, nf, gc=32):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)

    def forward(self, x):
        act = lambda t: F.leaky_relu(t, 0.2)
        x1 = act(self.conv1(x))
        x2 = act(self.conv2(torch.cat((x, x1), 1)))
        x3 = act(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = act(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = DenseBlock(nf), DenseBlock(nf), DenseBlock(nf)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class ESRGAN(nn.Module):
    """RRDBNet x4 in the Real-ESRGAN (BasicSR) key layout."""

    def __init__(self, nf, blocks):
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(nf) for _ in range(blocks)])
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)

    def forward(self, x):
        act = lambda t: F.leaky_relu(t, 0.2)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = act(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = act(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(act(self.conv_hr(feat)))


def benchmark(build, name, args):
    """Builds the x4 network with seed 0, saves its state dict to args.save and prints the median time of
    args.iterations forward passes on an args.size square input with args.threads threads (after one warm-up)."""
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = build()
    model.eval()
    torch.save(model.state_dict(), args.save)

    x = torch.rand(1, 3, args.size, args.size)
    times = []
    with torch.inference_mode():
        model(x)
        for _ in range(args.iterations):
            start = time.perf_counter()
            model(x).clamp_(0, 1)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    megapixels = (args.size * 4) ** 2 / 1e6
    print(f"pytorch {name} x4 {args.size}x{args.size} threads={args.threads} median={median:.4f}s "
          f"output_MPps={megapixels / median:.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("arch", choices=["compact", "esrgan"])
    parser.add_argument("--save", required=True)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()

    benchmark(lambda: Compact(64, 16, 4) if args.arch == "compact" else ESRGAN(64, 23), args.arch, args)


if __name__ == "__main__":
    main()
