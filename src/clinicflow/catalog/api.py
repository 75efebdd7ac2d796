"""Route dependencies on the clinic's catalog (see `infra.web.provided`).

The catalog has no routes of its own; other contexts' routes take it as a typed dependency.
These live in the catalog's `api` module because that is the one module of a context that
speaks FastAPI: the domain and the loader stay importable without the web framework.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from clinicflow.catalog.domain.clinic import Catalog
from clinicflow.catalog.service import LaunchState
from clinicflow.infra.web import provided

# The launch-aware catalog: services launched at run time read as active.
CatalogDep = Annotated[Catalog, Depends(provided(Catalog))]
LaunchesDep = Annotated[LaunchState, Depends(provided(LaunchState))]
