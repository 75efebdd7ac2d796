"""The raw body of a webhook someone outside posts: the bytes its signature is over, read up
to a limit because anyone can post there."""

from __future__ import annotations

from fastapi import Request


async def raw_body(request: Request, limit: int, too_large: type[Exception]) -> bytes:
    """The request's bytes as sent; `too_large` (a 413 error of the caller's context) raised as
    soon as more than `limit` bytes have come, without reading the rest."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(f"a webhook body is at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
