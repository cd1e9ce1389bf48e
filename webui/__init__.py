"""zhiqite-webui: an AUTOMATIC1111-style web UI for the Zhiqite cloud image API."""

__version__ = "0.1.0"
