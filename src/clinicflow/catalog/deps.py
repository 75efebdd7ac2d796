"""Route dependencies on the clinic's catalog (see `infra.web.provided`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from clinicflow.catalog.domain import Catalog
from clinicflow.catalog.launches import LaunchState
from clinicflow.infra.web import provided

# The launch-aware catalog: services launched at run time read as active.
CatalogDep = Annotated[Catalog, Depends(provided(Catalog))]
LaunchesDep = Annotated[LaunchState, Depends(provided(LaunchState))]
