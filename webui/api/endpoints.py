"""The 11 endpoints in one table: path, request and response model, and what kind of call it
is. The client and the offline backend both route from this table."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydantic import BaseModel

from webui.api import models as m

API_PREFIX = "/AIGCImgOpenServ/"
MARKETPLACE_BASE = "https://zhiqite.market.alicloudapi.com"


class CallKind(enum.Enum):
    SUBMIT = "submit"  # starts a billed task; retried only under the same task id (ruling 9)
    QUERY = "query"  # reads; safe to retry


class TaskKind(enum.StrEnum):
    """The endpoints that start a task, in tab order: a task row's `kind`. A StrEnum, so it
    equals the endpoint names stored in task rows."""

    TEXT2IMAGE = "text2image"
    IMAGE2IMAGE = "image2image"
    CONTROLNET = "controlnet"
    ENHANCE = "enhance"
    ROOP = "roop"


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # below API_PREFIX; may hold "{toolCode}"
    request: type[BaseModel]
    response: type[BaseModel]
    kind: CallKind
    tool_code: str | None = None  # for tool submits: the code their status query uses
    # Submits only (a TaskKind), what the app makes of their tasks:
    label: str | None = None  # the tab's name for the kind (History)
    folder: str | None = None  # the output folder, as A1111 names it (outputs/<folder>/)
    seeded: bool = False  # the request has a seed (re-run with a new seed)
    before_field: str | None = None  # a tool's request field holding the "before" picture

    def url_path(self, tool_code: str | None = None) -> str:
        return API_PREFIX + self.path.format(toolCode=tool_code or "")


SD = "saas/sd/v2/"

ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint(TaskKind.TEXT2IMAGE, SD + "text2image", m.Text2ImageRequest,
                 m.SubmitResponse, CallKind.SUBMIT, label="txt2img", folder="txt2img",
                 seeded=True),
        Endpoint(TaskKind.IMAGE2IMAGE, SD + "image2image", m.Image2ImageRequest,
                 m.SubmitResponse, CallKind.SUBMIT, label="img2img", folder="img2img",
                 seeded=True),
        Endpoint(TaskKind.CONTROLNET, SD + "controlnet", m.ControlNetRequest, m.SubmitResponse,
                 CallKind.SUBMIT, label="ControlNet", folder="controlnet", seeded=True),
        Endpoint("query_models", SD + "queryModelList", m.ModelListRequest,
                 m.ModelListResponse, CallKind.QUERY),
        Endpoint("query_loras", SD + "queryLoraList", m.LoraListRequest, m.LoraListResponse,
                 CallKind.QUERY),
        Endpoint("query_vaes", SD + "queryVaeList", m.VaeListRequest, m.VaeListResponse,
                 CallKind.QUERY),
        Endpoint("query_embeddings", SD + "queryEmbeddingList", m.EmbeddingListRequest,
                 m.EmbeddingListResponse, CallKind.QUERY),
        Endpoint("query_task", SD + "queryTaskInfo", m.QueryTaskRequest, m.TaskInfoResponse,
                 CallKind.QUERY),
        Endpoint("query_tool_task", "saas/tool/{toolCode}/queryTask", m.QueryTaskRequest,
                 m.ToolTaskResponse, CallKind.QUERY),
        Endpoint(TaskKind.ROOP, "saas/tool/roop", m.RoopRequest, m.RoopResponse,
                 CallKind.SUBMIT, tool_code="roop", label="Face swap", folder="faceswap",
                 before_field="targetUrl"),
        Endpoint(TaskKind.ENHANCE, "saas/tool/enhance", m.EnhanceRequest, m.EnhanceResponse,
                 CallKind.SUBMIT, tool_code="enhance", label="Extras", folder="extras",
                 before_field="image"),
    )
}

SD_SUBMITS = (TaskKind.TEXT2IMAGE, TaskKind.IMAGE2IMAGE, TaskKind.CONTROLNET)
TOOLS: dict[str, Endpoint] = {e.tool_code: e for e in ENDPOINTS.values() if e.tool_code}
