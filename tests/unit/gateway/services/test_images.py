"""Inline images: data URLs to Converse image blocks, Bedrock's limits checked before the call."""

import base64
import struct

import pytest

from gateway.providers.bedrock import FoundationModel
from gateway.services.images import (
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    ImageUrlNotSupportedError,
    InvalidImageError,
    ModelInputNotSupportedError,
    TooManyImagesError,
    inline_image,
    require_image_input,
)


def png(width: int = 2, height: int = 3, padding: int = 0) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
        + struct.pack(">II", width, height)
        + b"\x08\x06"
        + b"\0" * padding
    )


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\0" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, height, width) + b"\x03" + b"\0" * 9
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\0" * 8


def webp_vp8x(width: int, height: int) -> bytes:
    chunk = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (width - 1).to_bytes(3, "little")
    chunk += (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def data_url(data: bytes, media: str = "png") -> str:
    return f"data:image/{media};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize(
    ("data", "media", "image_format"),
    [
        (png(), "png", "png"),
        (jpeg(640, 480), "jpeg", "jpeg"),
        (jpeg(10, 10), "jpg", "jpeg"),
        (gif(5, 5), "gif", "gif"),
        (webp_vp8x(300, 200), "webp", "webp"),
    ],
)
def test_a_data_url_becomes_a_converse_image_block_with_the_raw_bytes(data, media, image_format):
    block = inline_image(data_url(data, media)).block()
    assert block == {"image": {"format": image_format, "source": {"bytes": data}}}


def test_the_format_comes_from_the_bytes_not_the_declared_media_type():
    assert inline_image(data_url(gif(4, 4), "png")).format == "gif"


@pytest.mark.parametrize(
    "url", ["https://example.com/cat.png", "http://169.254.169.254/latest", "file:///etc"]
)
def test_urls_are_refused_the_gateway_fetches_nothing(url):
    with pytest.raises(ImageUrlNotSupportedError) as raised:
        inline_image(url)
    assert (raised.value.status_code, raised.value.code) == (400, "image_url_not_supported")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("data:image/png;base64,!!!not-base64!!!", "invalid_image"),
        ("data:image/bmp;base64," + base64.b64encode(b"BM...").decode(), "invalid_image"),
        ("data:text/plain;base64,aGVsbG8=", "invalid_image"),
        (data_url(b"plain text, no image"), "invalid_image"),
        (data_url(png(8001, 10)), "image_too_large"),
        (data_url(jpeg(10, 9000), "jpeg"), "image_too_large"),
        (data_url(png(padding=MAX_IMAGE_BYTES)), "image_too_large"),
    ],
)
def test_bad_or_oversized_images_are_a_400_before_any_call(url, code):
    with pytest.raises(InvalidImageError) as raised:
        inline_image(url)
    assert (raised.value.status_code, raised.value.code) == (400, code)


def test_an_image_exactly_at_the_limits_passes():
    data = png(8000, 8000, padding=MAX_IMAGE_BYTES - len(png()))
    assert len(data) == MAX_IMAGE_BYTES
    assert inline_image(data_url(data)).data == data


VISION = FoundationModel(
    "anthropic.claude-3-haiku-20240307-v1:0", "Anthropic", "Haiku", ("TEXT", "IMAGE"), ("TEXT",)
)
TEXT_ONLY = FoundationModel("meta.llama3-8b-instruct-v1:0", "Meta", "Llama", ("TEXT",), ("TEXT",))


def messages_with(images: int) -> list[dict]:
    blocks = [{"text": "look"}] + [inline_image(data_url(png())).block() for _ in range(images)]
    return [{"role": "user", "content": blocks}]


def test_images_only_for_models_whose_catalog_entry_accepts_them():
    assert require_image_input(VISION, messages_with(2)) == 2
    assert require_image_input(TEXT_ONLY, messages_with(0)) == 0
    with pytest.raises(ModelInputNotSupportedError) as raised:
        require_image_input(TEXT_ONLY, messages_with(1))
    assert (raised.value.status_code, raised.value.code) == (400, "model_input_not_supported")


def test_at_most_twenty_images():
    assert require_image_input(VISION, messages_with(MAX_IMAGES)) == MAX_IMAGES
    with pytest.raises(TooManyImagesError):
        require_image_input(VISION, messages_with(MAX_IMAGES + 1))
