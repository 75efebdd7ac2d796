"""What the staff console tests (tests/integration/staff_console/) share: the words of its 404
page, an admin, and the type of the browser fixture (a new client with someone signed in).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from clinicflow.shared.actor import Actor, Role
from support.staff_console import Staff

NOT_FOUND = "there is nothing here, or nothing you may open"
ADMIN = Actor(kind="user", id="test-admin", role=Role.ADMIN)
Browser = Callable[[Staff], AbstractAsyncContextManager[httpx.AsyncClient]]
