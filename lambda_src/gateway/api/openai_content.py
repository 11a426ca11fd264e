"""OpenAI chat content parts beyond text: `image_url` parts, sent to Converse as image blocks."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from gateway.services.images import inline_image


class ImageUrl(BaseModel):
    # A data URL of at most 3.75 MB of image is about 5 million characters of base64.
    url: str = Field(min_length=1, max_length=5_100_000)
    detail: Literal["auto", "low", "high"] | None = None  # accepted; Bedrock has no such setting


class ImageUrlPart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageUrl

    def block(self) -> dict[str, Any]:
        """The Converse image block (a 400 for a non-data URL, bad base64 or an image over the limits)."""
        return inline_image(self.image_url.url).block()
