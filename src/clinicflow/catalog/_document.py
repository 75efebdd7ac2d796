"""The whole of config/clinic.yaml: its top-level sections.

Apart from `_schema` so that sections defined in their own modules (`_payments`) can use
`_schema`'s value checks without an import cycle.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from clinicflow.catalog._payments import PaymentsSpec
from clinicflow.catalog._schema import (
    ClinicSpec,
    Key,
    PolicySpec,
    PractitionerSpec,
    RetentionSpec,
    ServiceSettingsSpec,
    ServiceSpec,
    Spec,
)


class DocumentSpec(Spec):
    clinic: ClinicSpec
    services: Annotated[dict[Key, ServiceSpec], Field(min_length=1)]
    policy_defaults: PolicySpec = PolicySpec()
    service_settings: dict[Key, ServiceSettingsSpec] = Field(default_factory=dict)
    practitioners: Annotated[dict[Key, PractitionerSpec], Field(min_length=1)]
    retention: RetentionSpec = RetentionSpec()
    payments: PaymentsSpec = PaymentsSpec()
