"""Keeping outside systems in step with bookings: the practitioners' calendars (Calendly,
Office 365) and the EHR (MediRecords, FHIR). The subscribers here turn booking events into
calls on the ports in `ports.py`; adapters (adapters/calendars, adapters/ehr) implement them."""
