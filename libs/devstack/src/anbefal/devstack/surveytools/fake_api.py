"""A local fake of the SurveyMonkey and Qualtrics APIs that thin webhooks are fetched from."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeToolApi:
    """The parts of the SurveyMonkey v3 and Qualtrics v3 APIs ingest reads, served locally.

    Ingest reaches it only through the operator's `ANBEFAL_INGEST_VENDOR_API_OVERRIDE` (`url`):
    sources name the real vendor hosts. `fail_first` makes the first N requests answer 503, to
    exercise the fetcher's retries; `misbehave` makes a response id's answer `stall` (until
    `release`), `trickle` a byte at a time, be `huge`, or `redirect` elsewhere."""

    token: str
    fail_first: int = 0
    requests: list[str] = field(default_factory=list)
    misbehave: dict[str, str] = field(default_factory=dict)
    released: threading.Event = field(default_factory=threading.Event)
    _sm: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _qx: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    port: int = 0
    _server: Any = None
    _thread: threading.Thread | None = None

    def add_surveymonkey(
        self, survey_id: str, response_id: str, score: int, comment: str, department: str
    ) -> None:
        self._sm[(survey_id, response_id)] = {
            "id": response_id,
            "survey_id": survey_id,
            "response_status": "completed",
            "date_created": "2026-11-30T10:00:02+00:00",
            "date_modified": "2026-11-30T10:00:05+00:00",
            "custom_variables": {"customer_id": "C-42", "department": department},
            "pages": [
                {
                    "id": "p1",
                    "questions": [
                        {"id": "q-nps", "answers": [{"choice_id": f"c{score}"}]},
                        {"id": "q-why", "answers": [{"text": comment}]},
                    ],
                }
            ],
        }

    def add_qualtrics(self, survey_id: str, response_id: str, score: int, comment: str) -> None:
        self._qx[(survey_id, response_id)] = {
            "result": {
                "responseId": response_id,
                "values": {
                    "startDate": "2026-11-30T09:58:40Z",
                    "endDate": "2026-11-30T10:00:02Z",
                    "recordedDate": "2026-11-30T10:00:03.120Z",
                    "status": 0,
                    "finished": 1,
                    "QID1": score,
                    "QID2_TEXT": comment,
                    "CustomerID": "C-42",
                    "Department": "Support",
                },
                "labels": {"QID1": str(score)},
            },
            "meta": {"httpStatus": "200 - OK", "requestId": str(uuid.uuid4())},
        }

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
        from starlette.routing import Route

        async def trickle() -> AsyncIterator[bytes]:
            yield b'{"result": '
            for _ in range(600):
                await asyncio.sleep(0.1)
                yield b" "

        async def misbehaving(request: Request) -> Response | None:
            how = self.misbehave.get(request.path_params.get("response", ""))
            if how == "stall":
                while not self.released.is_set():
                    await asyncio.sleep(0.02)
            elif how == "trickle":
                return StreamingResponse(trickle(), media_type="application/json")
            elif how == "huge":
                return Response(b'{"pad": "' + b"x" * (8 * 1024 * 1024) + b'"}')
            elif how == "redirect":
                return RedirectResponse("/elsewhere", 302)
            return None

        async def elsewhere(request: Request) -> JSONResponse:
            self.requests.append(request.url.path)
            return JSONResponse({})

        def gate(request: Request, authorized: bool) -> JSONResponse | None:
            self.requests.append(request.url.path)
            if self.fail_first > 0:
                self.fail_first -= 1
                return JSONResponse({"error": "try later"}, 503)
            if not authorized:
                return JSONResponse({"error": "bad token"}, 401)
            return None

        async def sm_survey(request: Request) -> JSONResponse:
            refusal = gate(request, request.headers.get("authorization") == f"Bearer {self.token}")
            if refusal:
                return refusal
            choices = [{"id": f"c{n}", "text": str(n), "position": n + 1} for n in range(11)]
            return JSONResponse(
                {
                    "id": request.path_params["survey"],
                    "pages": [
                        {
                            "questions": [
                                {
                                    "id": "q-nps",
                                    "family": "matrix",
                                    "subtype": "rating",
                                    "answers": {"choices": choices},
                                },
                                {"id": "q-why", "family": "open_ended", "subtype": "essay"},
                            ]
                        }
                    ],
                }
            )

        async def sm_response(request: Request) -> Response:
            refusal = gate(request, request.headers.get("authorization") == f"Bearer {self.token}")
            if refusal:
                return refusal
            odd = await misbehaving(request)
            if odd is not None:
                return odd
            key = (request.path_params["survey"], request.path_params["response"])
            if key not in self._sm:
                return JSONResponse({"error": "not found"}, 404)
            return JSONResponse(self._sm[key])

        async def qx_response(request: Request) -> Response:
            refusal = gate(request, request.headers.get("x-api-token") == self.token)
            if refusal:
                return refusal
            odd = await misbehaving(request)
            if odd is not None:
                return odd
            key = (request.path_params["survey"], request.path_params["response"])
            if key not in self._qx:
                return JSONResponse({"error": "not found"}, 404)
            return JSONResponse(self._qx[key])

        return Starlette(
            routes=[
                Route("/v3/surveys/{survey}/details", sm_survey),
                Route("/v3/surveys/{survey}/responses/{response}/details", sm_response),
                Route("/API/v3/surveys/{survey}/responses/{response}", qx_response),
                Route("/elsewhere", elsewhere),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeToolApi:
        import uvicorn

        from anbefal.devstack.testing import free_port

        self.port = free_port()
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("fake tool API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
