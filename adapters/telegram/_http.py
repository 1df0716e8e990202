"""python-telegram-bot's requests over aiohttp, through PTB's own extension point (``BaseRequest``).

With PTB's default ``HTTPXRequest`` a Bot API call cost ~1.5 ms of CPU against our local server (httpx,
httpcore, anyio and h11; without sniffio installed, httpcore also retries a failed import on every
request), and more when calls overlap, as its pool scans every connection for each request. Over aiohttp,
which the bot already runs for its HTTP server, the same call costs ~0.4 ms and less when calls overlap: at
one ``answerCallbackQuery`` per button press, that was most of what the adapter cost per vote. PTB still
builds every request and reads every answer; only the bytes travel differently."""

from __future__ import annotations

import asyncio
import functools
import ssl

import aiohttp
import httpx
import yarl
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Same defaults as PTB's HTTPXRequest, whose ``pool_timeout`` is part of aiohttp's ``connect`` here.
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
Proxy = tuple[yarl.URL | None, aiohttp.BasicAuth | None]


class AiohttpRequest(BaseRequest):
    """One aiohttp session with up to ``connections`` keep-alive connections to the Bot API server.

    aiohttp has no write timeout: a request body is small (or a file we chose to send), and the read
    timeout still bounds waiting for Telegram's answer. What httpx honoured still holds: the same trusted
    certificates (``SSL_CERT_FILE``, ``SSL_CERT_DIR`` or certifi's bundle, not only the system's), and a
    proxy in the environment (``HTTPS_PROXY``, ``NO_PROXY``), looked up once per server rather than in a
    thread on every request as aiohttp's ``trust_env`` would."""

    __slots__ = ("_connections", "_proxies", "_read_timeout", "_session")

    def __init__(self, connections: int = 1, read_timeout: float | None = 5.0) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, Proxy] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, ssl=_certificates())
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        pool = _given(pool_timeout, POOL_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_read=read, sock_connect=connect,
            connect=None if connect is None or pool is None else connect + pool,
        )
        proxy, proxy_auth = await self._proxy(url)
        data, headers = _body(request_data)
        try:
            async with self._session.request(method, url, data=data, headers=headers, timeout=timeout,
                                             proxy=proxy, proxy_auth=proxy_auth) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    async def _proxy(self, url: str) -> Proxy:
        origin = yarl.URL(url).origin()
        found = self._proxies.get(str(origin))
        if found is None:
            try:  # reads the environment and maybe ~/.netrc: once, in a thread
                found = await asyncio.to_thread(get_env_proxy_for_url, origin)
            except LookupError:
                found = (None, None)
            self._proxies[str(origin)] = found
        return found


@functools.cache
def _certificates() -> ssl.SSLContext:
    """httpx's own context (loading a bundle takes ~70 ms: once per process)."""
    return httpx.create_ssl_context()


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """PTB passes ``DEFAULT_NONE`` for "not given"; None itself means "no timeout"."""
    return default if isinstance(value, DefaultValue) else value


def _body(request_data: RequestData | None) -> tuple[bytes | aiohttp.FormData | None, dict[str, str] | None]:
    """The parameters form-encoded, as PTB sends them; multipart when there are files to upload."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return request_data.url_encoded_parameters().encode(), FORM
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form, None
