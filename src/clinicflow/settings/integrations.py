"""The integrations context's settings: the EHR (MediRecords) and the CRM (HubSpot)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings


class IntegrationSettings(BaseSettings):
    """CLINICFLOW_MEDIRECORDS_*, CLINICFLOW_HUBSPOT_*."""

    # MediRecords, the EHR (adapters/ehr/medirecords.py, docs/integrations.md): its FHIR API's
    # base (`{API_URL}/v1`) and the API token MediRecords issues to Connect customers turn the
    # sync on. Visits are pushed only with `push_visits` (off until MediRecords confirms its
    # appointment interface); patients are matched or created either way. The webhook key is
    # the API_KEY MediRecords presents on its patient webhooks (`Authorization: Bearer`).
    medirecords_url: str | None = None
    medirecords_token: SecretStr | None = None
    medirecords_webhook_key: SecretStr | None = None
    medirecords_push_visits: bool = False
    # Our identifiers on MediRecords' resources (Patient.identifier, Appointment.identifier).
    medirecords_patient_system: str = "urn:clinicflow:patient"
    medirecords_booking_system: str = "urn:clinicflow:booking"
    medirecords_timeout_seconds: float = Field(default=10.0, gt=0)
    # A CRM (adapters/crm/hubspot.py): a HubSpot private app's token (scope
    # crm.objects.contacts.write) turns on the contact sync, for consenting patients only.
    hubspot_token: SecretStr | None = None
    hubspot_url: str = "https://api.hubapi.com"

    @model_validator(mode="after")
    def _medirecords_complete(self) -> Self:
        if bool(self.medirecords_url) != (self.medirecords_token is not None):
            raise ValueError(
                "set CLINICFLOW_MEDIRECORDS_URL and CLINICFLOW_MEDIRECORDS_TOKEN together, "
                "or neither"
            )
        return self
