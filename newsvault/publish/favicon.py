"""The site's icon: a page of news on a blue square, as SVG (favicon.svg, which pages link
to) and as a 32×32 ICO holding a PNG (favicon.ico, which browsers ask for unprompted). Both
are drawn here from the same few rectangles, so the build needs no image file or library."""

from __future__ import annotations

import struct
import zlib

SIZE = 32
RADIUS = 6
BLUE = (0x0B, 0x57, 0xD0)
# (x, y, width, height) of the white marks: a headline, then three lines of text
MARKS = ((7, 7, 18, 5), (7, 15, 18, 2), (7, 19, 18, 2), (7, 23, 11, 2))


def svg() -> str:
    marks = "".join(
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#fff"/>' for x, y, w, h in MARKS
    )
    colour = "#{:02x}{:02x}{:02x}".format(*BLUE)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">'
        f'<rect width="{SIZE}" height="{SIZE}" rx="{RADIUS}" fill="{colour}"/>{marks}</svg>\n'
    )


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    if any(mx <= x < mx + w and my <= y < my + h for mx, my, w, h in MARKS):
        return (255, 255, 255, 255)
    # the rounded corners: outside the circle of RADIUS around the corner's centre
    cx = min(max(x, RADIUS), SIZE - 1 - RADIUS)
    cy = min(max(y, RADIUS), SIZE - 1 - RADIUS)
    if (x - cx) ** 2 + (y - cy) ** 2 > RADIUS**2:
        return (0, 0, 0, 0)
    return (*BLUE, 255)


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes(v for x in range(SIZE) for v in _pixel(x, y)) for y in range(SIZE)
    )
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def ico() -> bytes:
    """An ICO file of one 32×32 image stored as PNG (read by every browser since IE 11)."""
    image = png()
    head = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return head + entry + image
