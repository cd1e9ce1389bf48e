"""The Gradio UI. Only this package imports gradio; it calls webui.core, never HTTP."""
