"""Keeping outside systems in step with bookings and patient records: the practitioners'
calendars (Calendly, Office 365), the EHR (MediRecords, FHIR R4) and a CRM (HubSpot). The
subscribers here turn booking events into calls on the ports in `ports.py`; adapters
(adapters/calendars, adapters/ehr, adapters/crm) implement them. docs/integrations.md."""
