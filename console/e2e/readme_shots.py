"""Copy chosen end-to-end screenshots into docs/console/, reduced to a 128-colour palette.

Usage: python console/e2e/readme_shots.py NAME:SHOT ...  (SHOT is a file stem in console/e2e/out/)
"""

import sys
from pathlib import Path

from PIL import Image

root = Path(__file__).resolve().parents[2]
target = root / "docs" / "console"
target.mkdir(parents=True, exist_ok=True)
for pair in sys.argv[1:]:
    name, shot = pair.split(":")
    image = Image.open(root / "console" / "e2e" / "out" / f"{shot}.png").convert("RGB")
    image.quantize(128).save(target / f"{name}.png", optimize=True)
