"""``/health`` (the process answers), ``/ready`` (models loaded, store reachable) and
``/metrics`` (Prometheus text; a key with the ``metrics`` role, since every door is
authenticated: point Prometheus' ``authorization`` at such a key)."""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at runtime,
# and they name objects local to the router factory.

from typing import Annotated, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from safebot.serve.engine_hooks import models_loaded
from safebot.serve.metrics import CONTENT_TYPE
from safebot.serve.responses import ERROR_RESPONSES
from safebot.serve.state import ServerState
from safebot.stores._errors import mapped_errors

__all__ = ["ops_router"]

STORE_CHECK_TIMEOUT = 2.0


class HealthOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok"]


class ReadyOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ready", "not_ready"]
    models: bool
    store: bool
    #: ``ready``, or ``unconfigured`` (its routes answer 503; the rest is unaffected)
    whatsapp: Literal["ready", "unconfigured"]


def ops_router(state: ServerState, whatsapp_ready: bool) -> APIRouter:
    router = APIRouter(tags=["operations"])
    bearer = HTTPBearer(auto_error=False, description="An API key with the 'metrics' role")

    @router.get("/health", response_model=HealthOut, summary="The process is alive")
    async def health() -> HealthOut:
        return HealthOut(status="ok")

    @router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut, "description": "Not ready"}},
                summary="Models loaded and store reachable")
    async def ready() -> JSONResponse:
        store_ok = False
        with anyio.move_on_after(STORE_CHECK_TIMEOUT):
            store_ok = await anyio.to_thread.run_sync(_store_reachable, state, abandon_on_cancel=True)
        models = models_loaded(state.bot)
        body = ReadyOut(status="ready" if store_ok and models else "not_ready", models=models, store=store_ok,
                        whatsapp="ready" if whatsapp_ready else "unconfigured")
        return JSONResponse(body.model_dump(), status_code=200 if body.status == "ready" else 503)

    @router.get("/metrics", response_class=Response, responses={
        200: {"content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}}, "description": "Prometheus text format"},
        **{k: ERROR_RESPONSES[k] for k in (401, 403, 429)},
    }, summary="Prometheus metrics")
    async def metrics(
        request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Response:
        key = await state.authenticate(request.headers.get("authorization"), role="metrics")
        request.state.key_id = key.id
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    return router


def _store_reachable(state: ServerState) -> bool:
    try:
        with mapped_errors(), state.bot.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    return True
