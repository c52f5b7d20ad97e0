"""A TCP proxy between a client and the service that loses responses: it forwards every
request, and, while `losing` is set, closes the client's connection as soon as the service
starts to answer, so the client never sees a response to a request that was served. That is
the lost response of a timeout, a dropped connection or a proxy's 502."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class LossyProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.losing = False
        # Responses the service sent that no client received.
        self.lost = 0
        self.port = 0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _answer(self, service: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await service.read(65536):
                if self.losing:
                    # The service has answered (so its unit of work has committed): the client
                    # is cut off before a byte of the answer reaches it.
                    self.lost += 1
                    client.transport.abort()
                    return
                client.write(data)
                await client.drain()
        client.close()

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        service_in, service_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        try:
            await asyncio.gather(
                self._pipe(client_in, service_out),
                self._answer(service_in, client_out),
                return_exceptions=True,
            )
        finally:
            service_out.close()
            client_out.close()


@asynccontextmanager
async def lossy_proxy(base_url: str) -> AsyncIterator[tuple[LossyProxy, str]]:
    """A LossyProxy in front of the service at `base_url`; the proxy and its own base URL."""
    proxy = LossyProxy(int(base_url.rsplit(":", 1)[1]))
    server = await asyncio.start_server(proxy._accept, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy, f"http://127.0.0.1:{proxy.port}"
    finally:
        server.close()
        await server.wait_closed()
