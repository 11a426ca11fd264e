"""Images sent inline with a chat request, checked against Bedrock Converse's limits before any model call.

Only `data:` URLs are accepted: the gateway fetches nothing on a caller's behalf (no server-side requests to
addresses a caller chooses). The limits are Converse's (API reference, Message.content): at most 20 images
per request, each at most 3.75 MB decoded and 8000 px wide and high, in PNG, JPEG, GIF or WebP.
"""

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from typing import Any

from gateway.errors import BadRequestError
from gateway.providers.bedrock import FoundationModel

MAX_IMAGES = 20
MAX_IMAGE_BYTES = 3_750_000  # Bedrock's "3.75 MB"
MAX_IMAGE_PIXELS = 8000  # per side
# Reserved per image before the call (the real count settles it): Claude bills width*height/750 tokens and
# scales images down to about 1.15 megapixels first (~1,600 tokens), Nova bills less for the same image.
IMAGE_TOKEN_ALLOWANCE = 1600

_DATA_URL = re.compile(r"^data:image/(?P<media>[a-zA-Z0-9.+-]+);base64,(?P<data>.*)$", re.DOTALL)
_MEDIA_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}


class ImageUrlNotSupportedError(BadRequestError):
    code = "image_url_not_supported"
    message = (
        "Images must be sent inline as data URLs (data:image/png;base64,...); the gateway fetches no URLs."
    )


class InvalidImageError(BadRequestError):
    code = "invalid_image"
    message = "The image could not be read."


class TooManyImagesError(BadRequestError):
    code = "too_many_images"
    message = f"A request may carry at most {MAX_IMAGES} images."


@dataclass(frozen=True)
class InlineImage:
    format: str  # png | jpeg | gif | webp, as Converse names them
    data: bytes

    def block(self) -> dict[str, object]:
        """The Converse content block."""
        return {"image": {"format": self.format, "source": {"bytes": self.data}}}


def _format_of(data: bytes) -> str | None:
    """The format the bytes are in, from their signature (a declared media type is not trusted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        # Start-of-frame markers (baseline, progressive, ...) carry the height and width.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def image_size(data: bytes, image_format: str) -> tuple[int, int] | None:
    """(width, height) read from the image's header, or None when the header cannot be read."""
    if image_format == "png" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if image_format == "gif" and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if image_format == "jpeg":
        return _jpeg_size(data)
    if image_format == "webp":
        return _webp_size(data)
    return None


def inline_image(url: str) -> InlineImage:
    """A `data:image/...;base64,` URL as an image Converse accepts, else a 400 saying what is wrong."""
    if not url.startswith("data:"):
        raise ImageUrlNotSupportedError()
    match = _DATA_URL.match(url)
    if match is None or match["media"].lower() not in _MEDIA_FORMATS:
        raise InvalidImageError(
            "Images must be data URLs of PNG, JPEG, GIF or WebP images: data:image/<format>;base64,<data>."
        )
    # Base64 is 4/3 of the bytes: refuse an oversized image before decoding it.
    if len(match["data"]) > (MAX_IMAGE_BYTES + 2) // 3 * 4 + 4:
        raise InvalidImageError(
            f"An image may be at most {MAX_IMAGE_BYTES} bytes (Bedrock's 3.75 MB).", code="image_too_large"
        )
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImageError("The image's data is not valid base64.") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImageError(
            f"An image may be at most {MAX_IMAGE_BYTES} bytes (Bedrock's 3.75 MB).", code="image_too_large"
        )
    image_format = _format_of(data)
    if image_format is None:
        raise InvalidImageError("The image is not a PNG, JPEG, GIF or WebP image.")
    size = image_size(data, image_format)
    if size is None:
        raise InvalidImageError("The image's header could not be read.")
    if max(size) > MAX_IMAGE_PIXELS:
        raise InvalidImageError(
            f"An image may be at most {MAX_IMAGE_PIXELS} px wide and high; this one is {size[0]}x{size[1]}.",
            code="image_too_large",
        )
    return InlineImage(image_format, data)


def check_image_count(count: int) -> None:
    if count > MAX_IMAGES:
        raise TooManyImagesError(details={"images": count, "max_images": MAX_IMAGES})


class ModelInputNotSupportedError(BadRequestError):
    code = "model_input_not_supported"
    message = "This model does not accept images (its Bedrock catalog entry lists no IMAGE input)."


def images_in(messages: list[dict[str, Any]]) -> int:
    """How many Converse image blocks the messages carry."""
    return sum(1 for message in messages for block in message.get("content", []) if "image" in block)


def require_image_input(model: FoundationModel, messages: list[dict[str, Any]]) -> int:
    """The messages' image count, after refusing images the model cannot read or too many of them."""
    count = images_in(messages)
    if count and "IMAGE" not in model.input_modalities:
        raise ModelInputNotSupportedError(
            details={"model": model.model_id, "inputs": list(model.input_modalities)}
        )
    check_image_count(count)
    return count
