"""Draw the PWA icons into app/web/static/icons/ (run once; the PNGs are committed).

Usage: .venv/bin/python scripts/make_icons.py   (Pillow comes with the test extras)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "app" / "web" / "static" / "icons"
RED = (180, 35, 24, 255)
WHITE = (255, 255, 255, 255)


def icon(size: int, *, maskable: bool) -> Image.Image:
    """Return a red tile with a white pager bell; maskable icons keep it in the safe zone."""
    img = Image.new("RGBA", (size, size), RED if maskable else (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    if not maskable:
        draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=RED)
    s = size * (0.6 if maskable else 0.8) / 100  # drawing units: a 100-unit square, centred
    ox = oy = (size - 100 * s) / 2

    def p(x: float, y: float) -> tuple[float, float]:
        return (ox + x * s, oy + y * s)

    # A bell: dome, rim, clapper; then a small "!" notch for urgency.
    draw.pieslice((*p(22, 14), *p(78, 70)), 180, 360, fill=WHITE)
    draw.rectangle((*p(22, 42), *p(78, 70)), fill=WHITE)
    draw.rounded_rectangle((*p(12, 68), *p(88, 78)), radius=int(4 * s), fill=WHITE)
    draw.ellipse((*p(42, 80), *p(58, 94)), fill=WHITE)
    draw.rounded_rectangle((*p(46, 26), *p(54, 50)), radius=int(3 * s), fill=RED)
    draw.ellipse((*p(46, 54), *p(54, 62)), fill=RED)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    icon(192, maskable=False).save(OUT / "icon-192.png", optimize=True)
    icon(512, maskable=False).save(OUT / "icon-512.png", optimize=True)
    icon(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
