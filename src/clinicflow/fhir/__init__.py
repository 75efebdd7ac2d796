"""The FHIR R4 face of the clinic (`/fhir/R4`): an edge over the contexts, like `web/`.

Its routes call the same use cases as the API's routes (typed dependencies from each
context's `api.py`) and turn their views into FHIR resources as plain JSON; it holds no
booking or patient rules of its own. `smart/` is its one aggregate with state: the SMART
Backend Services clients, their spent assertions and their access tokens.
"""

BASE = "/fhir/R4"
