#!/usr/bin/env python3
"""Draws Oxbow's app icon (a river's oxbow loop on a rounded teal square) as PNGs in this folder.

Pure Python (zlib only) so it runs anywhere; the PNGs are committed, rerun this only to change them.
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
BACKGROUND = (15, 118, 110)  # teal-700
WATER = (240, 253, 250)      # teal-50


def coverage(x, y, size):
    """Fraction-free shape test at point (x, y) in [0, 1]^2: 0 outside, 1 background, 2 water."""
    radius = 0.22
    # Rounded square.
    dx = max(abs(x - 0.5) - (0.5 - radius), 0.0)
    dy = max(abs(y - 0.5) - (0.5 - radius), 0.0)
    if dx * dx + dy * dy > radius * radius:
        return 0
    # The oxbow: a thick ring open at the top, with the river running straight across above it.
    cx, cy, ring, width = 0.5, 0.56, 0.24, 0.075
    distance = math.hypot(x - cx, y - cy)
    angle = math.degrees(math.atan2(y - cy, x - cx))  # y grows downwards
    in_ring = abs(distance - ring) < width and not (-125 < angle < -55)
    in_river = abs(y - 0.2) < width * 0.8 and 0.14 < x < 0.86
    return 2 if in_ring or in_river else 1


def render(size):
    samples = 4  # supersampling for smooth edges
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(samples):
                for sx in range(samples):
                    x = (px + (sx + 0.5) / samples) / size
                    y = (py + (sy + 0.5) / samples) / size
                    c = coverage(x, y, size)
                    if c:
                        colour = WATER if c == 2 else BACKGROUND
                        for i in range(3):
                            acc[i] += colour[i]
                        acc[3] += 255
            n = samples * samples
            alpha = acc[3] / n
            if alpha > 0:
                scale = 255 / acc[3]
                row += bytes(int(acc[i] * scale + 0.5) for i in range(3)) + bytes([int(alpha + 0.5)])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    with open(os.path.join(HERE, name), "wb") as out:
        out.write(render(size))
