"""SMART Backend Services for the FHIR API: registered system clients, the token endpoint
(client_credentials with a signed JWT assertion) and the access tokens it issues."""
