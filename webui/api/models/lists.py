"""The four paged list endpoints: models, LoRAs, VAEs, embeddings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field

from webui.api.models.common import Envelope, Page, RequestModel, ResponseModel
from webui.api.models.constraints import Range

PageSize = Annotated[int, Range(1, 1000)]
PageNum = Annotated[int, Range(1, None)]


def split_urls(value: str | None) -> list[str]:
    """`...ImgUrl2` fields are comma-separated lists of preview URLs."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _flag(value: Any) -> Any:
    return 1 if value is True else 0 if value is False else value


Flag = Annotated[int | None, BeforeValidator(_flag)]


class PagedRequest(RequestModel):
    pageSize: PageSize = 20
    pageNum: PageNum = 1


# --- checkpoints ------------------------------------------------------------------------------


class ModelListRequest(PagedRequest):
    sdModelCheckpoint: str | None = Field(None, description="Filter by checkpoint code")
    sdModelName: str | None = Field(None, description="Filter by model name")


class ModelRow(ResponseModel):
    id: int | None = None
    sdModelCheckpoint: str | None = None
    sdModelName: str | None = None
    modelBaseModel: str | None = None
    modelHash: str | None = None
    modelType: str | None = None
    modelVersion: str | None = None
    modelStatus: int | None = None
    modelUploadStatus: int | None = None
    modelImgUrl2: str | None = None
    # The example says modelCoverImgUrl2, the table modelCoverImageUrl2.
    modelCoverImgUrl2: str | None = Field(
        None, validation_alias=AliasChoices("modelCoverImgUrl2", "modelCoverImageUrl2")
    )
    isAdult: Flag = None

    @property
    def cover_urls(self) -> list[str]:
        return split_urls(self.modelCoverImgUrl2) or split_urls(self.modelImgUrl2)[:1]

    @property
    def short_hash(self) -> str | None:
        """A1111's `Model hash`: the first 10 hex digits of the SHA-256 (an 8-digit legacy
        hash as it is), lower case; None when the service's value is not a hex hash."""
        return short_hash(self.modelHash)


def short_hash(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    if len(text) < 8 or any(c not in "0123456789abcdef" for c in text):
        return None
    return text[:10]


class ModelPage(Page):
    rows: list[ModelRow]


class ModelListResponse(Envelope):
    data: ModelPage | None = None


# --- LoRAs ------------------------------------------------------------------------------------


class LoraListRequest(PagedRequest):
    sdLoraName: str | None = Field(None, description="Filter by LoRA name")
    loraBaseModel: str | None = Field(None, description="Filter by base model, e.g. SD 1.5")


class LoraRow(ResponseModel):
    id: int | None = None
    sdLoraName: str | None = None
    loraBaseModel: str | None = None
    sdLoraFileName: str | None = None
    sdLoraFileSimplifyName: str | None = None
    loraVersion: str | None = None
    loraStatus: int | None = None
    loraUploadStatus: int | None = None
    loraImgUrl2: str | None = None
    loraCoverImgUrl2: str | None = Field(
        None, validation_alias=AliasChoices("loraCoverImgUrl2", "loraCoverImageUrl2")
    )
    isAdult: Flag = None

    @property
    def cover_urls(self) -> list[str]:
        return split_urls(self.loraCoverImgUrl2) or split_urls(self.loraImgUrl2)[:1]

    @property
    def prompt_tag(self) -> str:
        """Ruling 8: how the LoRA is used inside a prompt, at weight 1."""
        return f"<lora:{self.sdLoraFileSimplifyName}:1>"


class LoraPage(Page):
    rows: list[LoraRow]


class LoraListResponse(Envelope):
    data: LoraPage | None = None


# --- VAEs -------------------------------------------------------------------------------------


class VaeListRequest(PagedRequest):
    # Marked required by the table; "" matches every VAE.
    vaeFileName: str = Field("", description="Filter by VAE file name")


class VaeRow(ResponseModel):
    id: int | None = None
    vaeFileName: str | None = None


class VaePage(Page):
    rows: list[VaeRow]


class VaeListResponse(Envelope):
    data: VaePage | None = None


# --- embeddings -------------------------------------------------------------------------------


class EmbeddingListRequest(PagedRequest):
    pass


class EmbeddingRow(ResponseModel):
    id: int | None = None
    embeddingName: str | None = None
    embeddingSimplifyName: str | None = None


class EmbeddingPage(Page):
    rows: list[EmbeddingRow]


class EmbeddingListResponse(Envelope):
    data: EmbeddingPage | None = None
