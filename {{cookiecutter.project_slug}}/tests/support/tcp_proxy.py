"""A TCP proxy in front of a test server (the database, the broker), to make it go away and come
back."""

import asyncio

from sqlalchemy import make_url


class TcpProxy:
    """A TCP proxy in front of a server (its URL) that forwards, refuses, or accepts and hangs."""

    def __init__(self, server_url: str) -> None:
        self._target = make_url(server_url)
        self._mode = "forward"
        self._server: asyncio.Server | None = None
        self._sockets: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        proxied = self._target.set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    async def __aenter__(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def forward(self) -> None:
        self._switch("forward")

    def refuse(self) -> None:
        self._switch("refuse")

    def hang(self) -> None:
        self._switch("hang")

    def _switch(self, mode: str) -> None:
        # Whatever was connected before belongs to the old state of the "server".
        self._mode = mode
        self._drop_connections()

    def _drop_connections(self) -> None:
        for writer in self._sockets:
            writer.close()
        self._sockets.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sockets.add(writer)
        if self._mode == "refuse":
            writer.close()
        elif self._mode == "hang":
            await reader.read()  # until the client gives up or the proxy drops it
        else:
            host, port = self._target.host or "127.0.0.1", self._target.port
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            self._sockets.add(upstream_writer)
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
