"""EHR adapters behind integrations.ports (EhrDirectory, EhrNotices): MediRecords' FHIR R4
API (`medirecords`, its webhooks in `medirecords_webhooks`); `noop` when none is configured."""
