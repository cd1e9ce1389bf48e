"""The typed contract: one request model and one response model per endpoint."""

from webui.api.models.adetailer import (
    AD_CONTROLNET_MODELS,
    AD_CONTROLNET_MODULES,
    AD_MODELS,
    Image2ImageADetailer,
    Image2ImageADetailerArgs,
    Text2ImageADetailer,
    Text2ImageADetailerArgs,
)
from webui.api.models.common import (
    MAX_PROMPT_CHARS,
    OUTPUT_FORMATS,
    SAMPLERS,
    Envelope,
    RequestModel,
    ResponseModel,
    TaskState,
)
from webui.api.models.constraints import Choice, Range, bounds_of, choices_of
from webui.api.models.controlnet import (
    CONTROL_MODES,
    CONTROLNET_MODELS,
    CONTROLNET_MODULES,
    MODULE_DEFAULT_MODEL,
    RESIZE_MODES,
    ControlNetArgs,
    ControlNetUnit,
)
from webui.api.models.lists import (
    EmbeddingListRequest,
    EmbeddingListResponse,
    EmbeddingRow,
    LoraListRequest,
    LoraListResponse,
    LoraRow,
    ModelListRequest,
    ModelListResponse,
    ModelRow,
    VaeListRequest,
    VaeListResponse,
    VaeRow,
)
from webui.api.models.sd import (
    SCRIPTS_KEY,
    ControlNetRequest,
    ControlNetScripts,
    Image2ImageRequest,
    Image2ImageScripts,
    OverrideSettings,
    SubmitResponse,
    Text2ImageRequest,
    Text2ImageScripts,
)
from webui.api.models.tasks import (
    QueryTaskRequest,
    ResultImage,
    TaskInfo,
    TaskInfoResponse,
    ToolTaskInfo,
    ToolTaskResponse,
    sd_task_state,
    tool_task_state,
)
from webui.api.models.tools import (
    ENHANCE_MAX_INPUT,
    UPSCALERS,
    EnhanceRequest,
    EnhanceResponse,
    RoopRequest,
    RoopResponse,
    ToolRequest,
)

__all__ = [name for name in dir() if not name.startswith("_")]
