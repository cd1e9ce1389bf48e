"""The wire: typed request/response models, signing, auth, errors and the client. No UI."""

from webui.api.client import ZhiqiteClient
from webui.api.endpoints import ENDPOINTS, MARKETPLACE_BASE
from webui.api.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ClockSkewError,
    ConfigurationError,
    FieldIssue,
    GatewayError,
    InvalidRequestError,
    MalformedResponseError,
    QuotaError,
    ServerError,
    ServiceError,
    SignatureError,
    ThrottledError,
    ZhiqiteError,
)
from webui.api.validation import parse_request

__all__ = [
    "ENDPOINTS",
    "MARKETPLACE_BASE",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ClockSkewError",
    "ConfigurationError",
    "FieldIssue",
    "GatewayError",
    "InvalidRequestError",
    "MalformedResponseError",
    "QuotaError",
    "ServerError",
    "ServiceError",
    "SignatureError",
    "ThrottledError",
    "ZhiqiteClient",
    "ZhiqiteError",
    "parse_request",
]
