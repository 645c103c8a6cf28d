"""Sample document photos, generated (no image files of unknown origin): what the demo's clients have sent
and what the tests upload. A card-like picture with a photo box, text lines and a little sensor noise, as a
phone photo of an identity document looks to the upload checks."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter


def document_photo(size=(1200, 800), background=(225, 225, 215), blur=0, exif=False, fmt="JPEG") -> bytes:
    rng = random.Random(5)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 120, 360, 520), fill=(140, 120, 110))
    for row in range(12):
        y = 120 + row * 45
        draw.text((420, y), "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<", fill=(20, 20, 20))
        draw.line((420, y + 25, 1100, y + 25), fill=(90, 90, 90), width=2)
    for _ in range(4000):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.point((x, y), fill=(rng.randrange(256),) * 3)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # camera make
        data[0x0132] = "2026:12:01 10:00:00"
        image.save(out, fmt, exif=data.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()
