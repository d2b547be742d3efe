"""llm_margin_emit: write LLM usage events (contract v1) from an application, no gateway needed.

    import httpx, llm_margin_emit as lme

    lme.configure("/data/landing/usage_events/emitter")      # or $LLM_MARGIN_DATA_DIR
    http = httpx.Client(transport=lme.EmitTransport())       # any httpx-based SDK: http_client=
    with lme.attribution(customer_id="cus_42", workspace_id="ws_7", feature="support_agent"):
        http.post(f"{base}/v1/chat/completions", json={...})
        lme.set_outcome("accepted")

See docs/emitter.md. Standard library only; httpx is used when the app passes its requests
through ``EmitTransport``, and the OpenAI/Anthropic SDKs are never imported.
"""

from llm_margin_emit._context import (
    VERSION,
    Task,
    attribution,
    current_task,
    route,
    set_outcome,
)
from llm_margin_emit._httpx import AsyncEmitTransport, EmitTransport
from llm_margin_emit._sdk import instrument_anthropic, instrument_openai
from llm_margin_emit._writer import (
    Emitter,
    close,
    configure,
    default_directory,
    flush,
    get_emitter,
    stats,
)

__version__ = VERSION

__all__ = [
    "AsyncEmitTransport",
    "EmitTransport",
    "Emitter",
    "Task",
    "__version__",
    "attribution",
    "close",
    "configure",
    "current_task",
    "default_directory",
    "flush",
    "get_emitter",
    "instrument_anthropic",
    "instrument_openai",
    "route",
    "set_outcome",
    "stats",
]
