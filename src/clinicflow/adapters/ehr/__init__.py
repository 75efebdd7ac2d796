"""EHR adapters behind integrations.ports.EhrSync (MediRecords, FHIR R4, in a later issue);
`noop` until one is configured."""
